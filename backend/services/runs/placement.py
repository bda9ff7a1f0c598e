"""Which base model a run trains, how big it is, and so which workers can take it.

Runs of models that train on a CPU (at most TRAINING_CPU_MAX_PARAMS_B billion parameters, 0.5 by default: the
SmolLM2 135M/360M, Gemma 3 270M and Qwen2.5 0.5B of the catalogue, the packaged MiniLM encoder) go to the
"training" queue; larger ones, and Hub models whose size the Hub does not say, to the "gpu" queue, which only
workers on a machine with an NVIDIA GPU take. Sizes come from the catalogue's sourced facts, or for another Hub
model from the Hub's own count of its safetensors parameters.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from backend.core.catalog import load_catalog
from backend.core.errors import ForbiddenError, InvalidInputError
from backend.core.notebook.payload import HUB_ID_PATTERN
from backend.services.hub.client import open_api
from backend.services.runs.payload import Placement
from backend.settings import Settings

log = logging.getLogger("slmgen.training")

PACKAGED_GENERATOR = ("SmolLM2-135M-Instruct (packaged)", 0.135)
PACKAGED_CLASSIFIER = ("all-MiniLM-L6-v2 (packaged)", 0.0227)
GPU_INSTEAD = ("Train it in the notebook on a free Colab GPU (Generate notebook), choose a model of at most {limit:g}B "
               "parameters to train here on CPU, or start `slmgen worker --kinds training` on a machine with an "
               "NVIDIA GPU.")


@dataclass(frozen=True)
class BaseChoice:
    base_model: str | None  # what the trainer loads: a catalogue id or a Hub id (None: the packaged model)
    catalogue_model: str | None  # the catalogue entry whose facts apply to a Hub id
    params_b: float | None
    label: str  # for people: the model's name
    license: str | None = None


def choose_base(model: str | None, catalogue_model: str | None, task: str) -> BaseChoice:
    catalog = load_catalog()
    if catalogue_model is not None and catalogue_model not in catalog:
        raise InvalidInputError(f"{catalogue_model!r} is not a catalogue model; GET /models lists them.",
                                code="unknown_catalogue_model", field="catalogue_model")
    if model is None:
        label, size = PACKAGED_CLASSIFIER if task == "text_classification" else PACKAGED_GENERATOR
        return BaseChoice(None, catalogue_model, size, label, "apache-2.0")
    if model in catalog:
        entry = catalog.get(model)
        return BaseChoice(model, catalogue_model, entry.params_b, entry.name, entry.license)
    if HUB_ID_PATTERN.match(model):
        facts = catalog.get(catalogue_model) if catalogue_model else None
        return BaseChoice(model, catalogue_model, None, model, facts.license if facts else None)
    raise InvalidInputError(
        f"{model!r} is neither a catalogue model nor a Hub model id (owner/name); GET /models lists the catalogue.",
        code="unknown_base_model", field="model")


def hub_model_params(endpoint: str, repo_id: str, token: str | None) -> float | None:
    """A Hub model's parameter count in billions, as the Hub counts its safetensors (blocking; None: unknown)."""
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    try:
        info = open_api(endpoint, token).model_info(repo_id)
    except GatedRepoError:
        raise ForbiddenError(f"The Hub model {repo_id} is gated: accept its terms on its page, then send a token of "
                             "that account (X-HuggingFace-Key).", code="hub_gated", repo=repo_id) from None
    except RepositoryNotFoundError:
        raise InvalidInputError(f"The Hub has no model {repo_id} that can be seen{' with this token' if token else ''}:"
                                " check the id (owner/name), or send a token that may read it.",
                                code="hub_model_not_found", repo=repo_id) from None
    except Exception as error:  # the Hub unreachable from the server: the size stays unknown
        log.info("could not read the size of %s from the Hub: %s", repo_id, type(error).__name__)
        return None
    total = getattr(getattr(info, "safetensors", None), "total", None)
    return total / 1e9 if total else None


async def size_of(choice: BaseChoice, settings: Settings, token: str | None) -> float | None:
    if choice.params_b is not None or choice.base_model is None:
        return choice.params_b
    size = await asyncio.to_thread(hub_model_params, settings.hf_endpoint, choice.base_model, token)
    if size is None and choice.catalogue_model:  # a fine-tune of a catalogue model is usually its size
        size = load_catalog().get(choice.catalogue_model).params_b
    return size


def place(params_b: float | None, settings: Settings) -> Placement:
    limit = settings.training_cpu_max_params_b
    if params_b is not None and params_b <= limit:
        return Placement(queue="training", params_b=params_b,
                         reason=f"A {params_b:.3g}B-parameter model: trains on a CPU worker (or a GPU worker)")
    said = f"{params_b:.3g}B parameters" if params_b is not None else "a size the Hub does not say"
    return Placement(queue="gpu", params_b=params_b,
                     reason=f"A model of {said} (over {limit:g}B): trains on a worker with an NVIDIA GPU")


def gpu_instead(settings: Settings) -> str:
    return GPU_INSTEAD.format(limit=settings.training_cpu_max_params_b)
