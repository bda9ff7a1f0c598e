"""The task engine: every long operation (analysis, generation, Hub pushes, training) is a task row."""
