"""Plan → cells (one Jinja template per cell or cell group) → a validated nbformat v4 notebook.

Two template environments, each with a `finalize` hook that refuses any output value not made by
literal.py: code templates accept only `PyLiteral`, markdown templates only `MdText`. A template
that printed a raw string from the data would fail at render time instead of producing a notebook
into which that string had been spliced.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

import nbformat
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from nbformat import NotebookNode

from backend.core.notebook.literal import MdText, PyLiteral, py_literal
from backend.core.notebook.plan import NotebookPlan
from backend.core.notebook.sections import code_context, markdown_context

TEMPLATES_DIR = Path(__file__).resolve().parents[3] / "templates" / "notebooks"
NBFORMAT_MINOR = 5


@dataclass(frozen=True, slots=True)
class CellSpec:
    template: str
    metadata: Mapping[str, Any] = field(default_factory=dict)
    heading: tuple[str, str] | None = None  # a markdown section (title, text) placed before the cell

    @property
    def is_markdown(self) -> bool:
        return self.template.endswith(".md.j2")


RUNTIME_MODULE = Path(__file__).resolve().parents[1] / "training" / "runtime.py"
RUNTIME_CELL = "runtime"  # CellSpec.template for the helper cell: the runtime module's source, verbatim

SETUP_HEADING = (
    "Setup",
    "SLMGen's training runtime (the very module the product's own trainer runs), then the pinned packages "
    "this runtime lacks, then the Unsloth (GPU) or transformers + PEFT (CPU) path.",
)
MODEL_CELLS: tuple[CellSpec, ...] = (
    CellSpec("model.py.j2", heading=("Model", "Loads the model, attaches LoRA adapters and sets the chat template.")),
    CellSpec("lora.py.j2"),
    CellSpec("chat_template.py.j2"),
)
DATA_HEADING = (
    "Data",
    "Your examples, then the conversion to this model's chat format and the train/evaluation split.",
)
AFTER_CELLS: tuple[CellSpec, ...] = (
    CellSpec("compare_before.py.j2"),
    CellSpec("train.py.j2"),
    CellSpec("loss_plot.py.j2"),
    CellSpec(
        "compare_after.py.j2",
        heading=("After training", "The same held-out prompts, answered by the trained model."),
    ),
    CellSpec(
        "save.py.j2",
        heading=(
            "Save",
            "LoRA adapter, merged 16-bit model, GGUF with an Ollama "
            "Modelfile, push to the Hub: each is a switch in the parameters "
            "cell.",
        ),
    ),
    CellSpec("summary.py.j2"),
)


def notebook_cells(objective: str) -> tuple[CellSpec, ...]:
    """The notebook, in order: supervised fine-tuning, or DPO on preference pairs. Section texts are constant."""
    if objective == "dpo":
        prepare, split, trainer = "prepare_dpo.py.j2", "split_dpo.py.j2", "trainer_dpo.py.j2"
        training = ("Training", "DPO on your pairs (chosen over rejected), answers before training, training, "
                                "and the loss curve.")
    else:
        prepare, split, trainer = "prepare.py.j2", "split.py.j2", "trainer.py.j2"
        training = ("Training", "Response-only loss, answers before training, training, and the loss curve.")
    return (
        CellSpec("title.md.j2"),
        CellSpec("parameters.py.j2", {"tags": ["parameters"]}),
        CellSpec(RUNTIME_CELL, heading=SETUP_HEADING),
        CellSpec("install.py.j2"),
        CellSpec("environment.py.j2"),
        *MODEL_CELLS,
        CellSpec("dataset.py.j2", {"cellView": "form"}, heading=DATA_HEADING),
        CellSpec("load.py.j2"),
        CellSpec(prepare),
        CellSpec(split),
        CellSpec(trainer, heading=training),
        *AFTER_CELLS,
    )


def runtime_source() -> str:
    """The helper cell: the runtime module's source, byte for byte (it is valid standalone Python)."""
    return RUNTIME_MODULE.read_text(encoding="utf-8")


# nbformat ships no type hints: these typed shims keep the untyped calls in one place.
def new_markdown(source: str) -> NotebookNode:
    return cast(NotebookNode, nbformat.v4.new_markdown_cell(source))  # type: ignore[no-untyped-call]


def new_code(source: str, metadata: dict[str, Any]) -> NotebookNode:
    return cast(NotebookNode, nbformat.v4.new_code_cell(source, metadata=metadata))  # type: ignore[no-untyped-call]


def require_literal(value: Any) -> str:
    if isinstance(value, PyLiteral):
        return value.text
    raise TypeError(f"code templates print only PyLiteral values, got {type(value).__name__}: {value!r:.80}")


def require_markdown(value: Any) -> str:
    if isinstance(value, MdText):
        return value.text
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"markdown templates print only MdText values or integers, got {type(value).__name__}")


@lru_cache(maxsize=4)
def template_environments(templates_dir: Path = TEMPLATES_DIR) -> tuple[Environment, Environment]:
    def make(finalize: Any) -> Environment:
        return Environment(
            loader=FileSystemLoader(templates_dir),
            undefined=StrictUndefined,
            autoescape=False,  # escaping is explicit: py_literal for code, md_text for markdown
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            finalize=finalize,
        )

    return make(require_literal), make(require_markdown)


def render_notebook(plan: NotebookPlan, templates_dir: Path = TEMPLATES_DIR) -> NotebookNode:
    """The notebook for a plan: pure (no I/O beyond reading the templates), validated with nbformat."""
    code_env, md_env = template_environments(templates_dir)
    code_vars, md_vars = code_context(plan), markdown_context(plan)
    cells: list[NotebookNode] = []
    for spec in notebook_cells(plan.stats.objective):
        if spec.heading is not None:
            title, text = spec.heading
            cells.append(new_markdown(f"## {title}\n\n{text}"))
        if spec.template == RUNTIME_CELL:
            cells.append(new_code(runtime_source(), {"tags": ["slmgen-runtime"]}))
        elif spec.is_markdown:
            source = md_env.get_template(spec.template).render(md_vars)
            cells.append(new_markdown(source.strip()))
        else:
            source = code_env.get_template(spec.template).render(code_vars)
            cells.append(new_code(source.strip(), dict(spec.metadata)))
    for number, cell in enumerate(cells):
        cell.id = f"cell-{number:02d}"  # stable ids: the same plan gives the same bytes
    notebook = cast(NotebookNode, nbformat.v4.new_notebook(cells=cells, metadata=notebook_metadata(plan)))  # type: ignore[no-untyped-call]
    notebook.nbformat_minor = NBFORMAT_MINOR
    nbformat.validate(notebook)
    return notebook


def notebook_metadata(plan: NotebookPlan) -> dict[str, Any]:
    """Colab reads `accelerator` and `colab.gpuType` to offer a T4 when the notebook opens."""
    return {
        "accelerator": "GPU",
        "colab": {"gpuType": "T4", "provenance": [], "name": plan.notebook_filename},
        "kernelspec": {"name": "python3", "display_name": "Python 3"},
        "language_info": {"name": "python"},
        "slmgen": {
            "model_id": plan.model.model_id,
            "examples": plan.stats.num_examples,
            "data_source": plan.source.kind,
            "objective": plan.stats.objective,
        },
    }


def notebook_bytes(nb: NotebookNode) -> bytes:
    """The .ipynb file's bytes (UTF-8 JSON, as Jupyter and Colab write it)."""
    text = cast(str, nbformat.writes(nb, version=4))  # type: ignore[no-untyped-call]
    return (text + "\n").encode("utf-8")


def with_parameters(nb: NotebookNode, **values: Any) -> NotebookNode:
    """A copy with an extra cell of overrides after the `parameters` cell, as papermill injects it."""
    copy = cast(NotebookNode, nbformat.from_dict(nb))  # type: ignore[no-untyped-call]
    index = next(i for i, cell in enumerate(copy.cells) if "parameters" in cell.metadata.get("tags", []))
    lines = [f"{name} = {py_literal(value)}" for name, value in values.items()]
    source = "# Parameters injected for this run\n" + "\n".join(lines)
    injected = new_code(source, {"tags": ["injected-parameters"]})
    injected.id = "injected-parameters"
    copy.cells.insert(index + 1, injected)
    return copy
