"""The fine-tuning notebook: plan (model + data + config) → Jinja cells → a validated nbformat notebook.

plan_notebook(model, examples, profile, config, data_source) -> NotebookPlan
render_notebook(plan) -> nbformat.NotebookNode
notebook_bytes(nb) -> bytes
"""

from backend.core.notebook.config import ResolvedConfig, TrainingConfig, resolve_config
from backend.core.notebook.model import ModelChoice, ModelEntryLike
from backend.core.notebook.payload import EMBED_LIMIT_BYTES, DataSource, DataStats, EmbeddedData
from backend.core.notebook.plan import NotebookPlan, plan_notebook
from backend.core.notebook.render import notebook_bytes, render_notebook, with_parameters

__all__ = [
    "EMBED_LIMIT_BYTES",
    "DataSource",
    "DataStats",
    "EmbeddedData",
    "ModelChoice",
    "ModelEntryLike",
    "NotebookPlan",
    "ResolvedConfig",
    "TrainingConfig",
    "notebook_bytes",
    "plan_notebook",
    "render_notebook",
    "resolve_config",
    "with_parameters",
]
