"""Colab runs that report their training back to the product, so they show in the same monitor as in-app runs."""
