"""Training runs in the product: the task kind "training" (kind.py, payload.py), starting and reading runs
(service.py), their files (files.py), Hub datasets imported for a run (hubdata.py) and Colab runs that report
back (colab.py). The trainers themselves are backend.services.training."""
