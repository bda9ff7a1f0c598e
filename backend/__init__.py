"""SLMGen: from a chat fine-tuning dataset to a small language model that works."""

__version__ = "0.1.0"
