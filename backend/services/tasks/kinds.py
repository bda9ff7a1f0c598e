"""The kinds of task the engine runs, and how: which queue, which code, whether a lost attempt is retried.

A kind names its code by import path, so the server (which only enqueues) never imports training or model code,
and a worker imports only the kinds it takes. A body may fan out: returning `Parts(n)` makes the engine run
`part(ctx, payload, i)` for i in 0..n-1 on any workers (each returns a small summary), then `join(ctx, payload)`
once all are done; `summarize(summaries)` gives the running figures published while parts finish.

`on_done(session, task, output)` runs in the transaction that ends the task DONE (a sync SQLAlchemy session): it
writes what the output means to the rest of the product (the analysis report onto its dataset, a registered
model...) and returns what is kept as the task's `result`. `on_end(session, task)` runs when it ends otherwise.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from backend.core.errors import InvalidInputError


@dataclass(frozen=True)
class Parts:
    """Returned by a body that fans out: run `count` parts, then the join. `status` says what they do."""

    count: int
    status: str = ""


@dataclass(frozen=True)
class TaskKind:
    name: str
    queue: str  # workers take queues; kinds that share a queue share its workers
    body: str  # "module:function"
    retry_when_lost: bool  # rerun an attempt whose worker died (safe: it has no effect outside its own files)
    part: str | None = None
    join: str | None = None
    summarize: str | None = None
    on_done: str | None = None
    on_end: str | None = None
    what: str = "tasks"  # how admission errors name them ("analyses", "training runs")
    # A kind that routes by payload (training: GPU-sized models to the gpu queue) names every queue it may use,
    # and `route(payload) -> queue` picks one.
    other_queues: tuple[str, ...] = ()
    route: str | None = None
    pass_settings: bool = False  # call the body (and part, join) with settings=<the worker's Settings>

    @property
    def max_attempts(self) -> int:
        return 2 if self.retry_when_lost else 1

    @property
    def queues(self) -> tuple[str, ...]:
        return (self.queue, *self.other_queues)

    def queue_for(self, payload: dict[str, Any]) -> str:
        if self.route is None:
            return self.queue
        chosen = str(resolve(self.route)(payload))
        assert chosen in self.queues, f"{self.name} routed to {chosen}, not one of its queues {self.queues}"
        return chosen


def resolve_for(kind: TaskKind, path: str, settings: Any) -> Callable[..., Any]:
    """The function at `path`, called with the worker's settings when the kind asks for them."""
    function = resolve(path)
    if not kind.pass_settings:
        return function
    return lambda *args: function(*args, settings=settings)


def resolve(path: str) -> Callable[..., Any]:
    module, _, name = path.partition(":")
    function: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return function


KINDS: dict[str, TaskKind] = {}


def register(kind: TaskKind) -> TaskKind:
    KINDS[kind.name] = kind
    return kind


def get_kind(name: str) -> TaskKind:
    try:
        return KINDS[name]
    except KeyError:
        raise InvalidInputError(f"Unknown task kind {name!r}; known kinds: {', '.join(sorted(KINDS))}.",
                                field="kind") from None


def load_plugins(modules: list[str]) -> None:
    """Import modules that register more kinds (TASK_PLUGINS): the server and every worker load the same."""
    for module in modules:
        importlib.import_module(module)


def queues_for(kind_names: list[str] | None) -> list[str]:
    """The queues that serve these kinds (all queues when None), in a stable order."""
    kinds = list(KINDS.values()) if kind_names is None else [get_kind(name) for name in kind_names]
    return sorted({queue for kind in kinds for queue in kind.queues})


register(TaskKind(
    name="analysis", queue="analysis", body="backend.services.analysis_task:plan", retry_when_lost=True,
    part="backend.services.analysis_task:analyze_part", join="backend.services.analysis_task:merge",
    summarize="backend.services.analysis_task:summarize", on_done="backend.services.analysis_task:on_done",
    on_end="backend.services.analysis_task:on_end", what="analyses"))

# --- synthetic data generation (issue 11): one kind per mode, and generate-then-push for seed 000's Hub variants.
# A retried attempt resumes from the rows already written and rewrites only its own files and the new dataset's
# upload; on_done records the dataset and queues its analysis.
for _mode in ("inputs", "examples", "view", "questions"):
    register(TaskKind(
        name=f"generation_{_mode}", queue="generation", retry_when_lost=True, pass_settings=True,
        body=f"backend.services.generation.dataset_task:run_{_mode}_task",
        on_done="backend.services.generation.dataset_task:on_generated", what="generation tasks"))
register(TaskKind(
    name="generation_hub", queue="generation", retry_when_lost=True, pass_settings=True,
    body="backend.services.generation.hub_task:run_generate_and_push",
    on_done="backend.services.generation.dataset_task:on_generated", what="generation tasks"))
# --- datasets out (issue 12): fixed versions and the Hub. Each writes only its own folder (the new version's, or
# its work directory), so an attempt lost with its worker is run again; a push re-run replaces the data in one
# commit and an append re-run leaves out the rows it already added.
register(TaskKind(
    name="fix", queue="analysis", body="backend.services.fix_task:run_fix", retry_when_lost=True,
    on_done="backend.services.fix_task:on_done", what="fixed versions", pass_settings=True))
register(TaskKind(
    name="hub_push", queue="hub", body="backend.services.hub.push:run_hub_push", retry_when_lost=True,
    what="Hub pushes", pass_settings=True))
register(TaskKind(
    name="hub_append", queue="hub", body="backend.services.hub.append:run_hub_append", retry_when_lost=True,
    what="Hub appends", pass_settings=True))
register(TaskKind(
    name="hub_import", queue="hub", body="backend.services.hub.imports:run_import_version", retry_when_lost=True,
    on_done="backend.services.hub.imports:on_import_done", what="Hub imports", pass_settings=True))
# --- training (issue 13): runs in the product (CPU-sized models on "training", GPU-sized ones on "gpu"; never
# retried: a lost run ends ERROR with its last checkpoint kept) ---
register(TaskKind(
    name="training", queue="training", other_queues=("gpu",), route="backend.services.runs.payload:route",
    body="backend.services.runs.kind:run_training_run", retry_when_lost=False, pass_settings=True,
    on_done="backend.services.runs.kind:on_done", on_end="backend.services.runs.kind:on_end", what="training runs"))
register(TaskKind(
    name="model_push", queue="hub", body="backend.services.registry.push:run_model_push", retry_when_lost=True,
    pass_settings=True, on_done="backend.services.registry.push:on_push_done", what="model pushes"))
# Colab runs reporting back (issue 13): the notebook trains and posts its progress; the server records it on a
# task of this kind, which it marks running itself and never sends to the queue (a queue of its own would cost
# every worker an idle process); never retried. A worker handed one by accident ends it with the reason.
register(TaskKind(
    name="colab_training", queue="training", body="backend.services.colab.service:run_colab_training",
    retry_when_lost=False, what="Colab runs"))
# Models imported from the Hub into the registry (issue 13, seed 001's import_model): the download lands in the
# task's own work directory, so a lost attempt is run again.
register(TaskKind(
    name="model_import", queue="hub", body="backend.services.registry.imports:run_model_import",
    retry_when_lost=True, pass_settings=True, on_done="backend.services.registry.imports:on_import_done",
    what="model imports"))
