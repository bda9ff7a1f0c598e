"""Training: the runtime shared by the in-app trainer and the notebook (runtime.py, standalone by design)."""
