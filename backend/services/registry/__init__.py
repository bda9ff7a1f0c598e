"""The model registry (seed 002's /v0/models): models created empty, trained by runs or imported from the Hub,
with their lineage and files (service.py); pushing one to a Hub model repo with a model card (push.py) and
importing one from the Hub (imports.py) are tasks."""
