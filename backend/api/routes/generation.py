"""Synthetic data generation: seed 004's jobs, whole training examples, seed 000's /data/view, /question and
their Hub variants, the providers and the estimate. Each start is a task; someone else's is a 404.

    POST   /data/generate                 seed 004: start  -> {job_id, state, detailed_status, data}
    GET    /data/generate/{job_id}        the same, `data` growing as rows arrive
    DELETE /data/generate/{job_id}        stop it (a finished job is 409)
    GET    /data/generate/{job_id}/data   the inputs as text lines, streamed until the job ends
    POST   /data/examples                 whole training examples ("grow this dataset": session_id)
    POST   /data/view, POST /question     seed 000 -> {"status": "Accepted", "task_id"}; GET /track/{task_id}
    POST|PUT /data, PUT /question, POST /question with a repo: generate, then push to the Hub / append
    GET    /data/rows/{task_id}           any generation task's rows as JSON lines
    GET    /data/providers, POST /data/estimate

Keys come in headers only (X-OpenAI-Key, X-HuggingFace-Key) and travel as the task's encrypted secrets.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query
from fastapi.responses import JSONResponse, StreamingResponse

from backend.api.deps import ClientKeyDep, OptionalUserDep, StateDep
from backend.api.schemas.generation import Accepted, EstimateRead, EstimateRequest, GenerationStatus, ProviderList
from backend.services.generation import jobs, seed000
from backend.services.generation.dataset_task import KIND_OF_MODE
from backend.services.hub.tokens import resolve_hub_token
from backend.services.tasks import engine, events

router = APIRouter(tags=["generation"])

JsonObject = Annotated[dict[str, Any], Body(description="the generation request (see the route's description)")]
OpenAIKey = Annotated[str | None, Header(alias="X-OpenAI-Key", description="your provider key (optional)")]
HubKey = Annotated[str | None, Header(alias="X-HuggingFace-Key", description="a Hub token with write access")]
SEED_004 = (KIND_OF_MODE["inputs"],)
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


@router.post("/data/generate", response_model=GenerationStatus)
async def start_data_generation(body: JsonObject, state: StateDep, user: OptionalUserDep, client: ClientKeyDep,
                                openai_key: OpenAIKey = None) -> dict[str, Any]:
    """Seed 004: `application_description`, `num_inputs_to_generate`, `seeds`, `batch_size` (<= 10, default 5),
    `num_shots` (<= 10, default 5), `exploration_mode` (CONSERVATIVE, BALANCED, CREATIVE, ADVENTUROUS); optional
    `provider` (GET /data/providers). Once DONE, the inputs are a dataset (`dataset_id`) analysed like an upload."""
    task = await jobs.start_generation(state, "inputs", user, client, body, openai_key=openai_key)
    return await jobs.job_view(state, task)


@router.get("/data/generate/{job_id}", response_model=GenerationStatus)
async def data_generation_status(job_id: str, state: StateDep, user: OptionalUserDep) -> dict[str, Any]:
    return await jobs.job_view(state, await jobs.get_generation_task(state, job_id, user, SEED_004))


@router.delete("/data/generate/{job_id}", response_model=GenerationStatus)
async def cancel_data_generation(job_id: str, state: StateDep, user: OptionalUserDep) -> Any:
    """Stop the job at its next batch: CANCELLED (200), or RUNNING while it stops (202). Finished: 409."""
    await jobs.get_generation_task(state, job_id, user, SEED_004)
    task = await engine.cancel(state, job_id, user)
    return JSONResponse(await jobs.job_view(state, task), status_code=200 if task.state == "CANCELLED" else 202)


@router.get("/data/generate/{job_id}/data", response_class=StreamingResponse,
            responses={200: {"content": {"text/plain": {}}}})
async def data_generation_lines(job_id: str, state: StateDep, user: OptionalUserDep, client: ClientKeyDep,
                                follow: bool = Query(True, description="keep streaming until the job ends"),
                                after: int = Query(0, ge=0, description="start at this row number")
                                ) -> StreamingResponse:
    """The generated inputs, one per line, as they are written (ends when the job does, or at once with
    follow=false)."""
    task = await jobs.get_generation_task(state, job_id, user, SEED_004)
    return await _stream(state, task, user, client, follow, after, jobs.text_line, "text/plain; charset=utf-8")


@router.get("/data/rows/{task_id}", response_class=StreamingResponse,
            responses={200: {"content": {"application/x-ndjson": {}}}})
async def generation_rows(task_id: str, state: StateDep, user: OptionalUserDep, client: ClientKeyDep,
                          follow: bool = Query(False, description="keep streaming until the task ends"),
                          after: int = Query(0, ge=0, description="start at this row number")) -> StreamingResponse:
    """Any generation task's rows as JSON lines: {n, <the mode's fields>, provenance}."""
    task = await jobs.get_generation_task(state, task_id, user)
    return await _stream(state, task, user, client, follow, after, jobs.json_line, "application/x-ndjson")


async def _stream(state: StateDep, task: Any, user: Any, client: str, follow: bool, after: int, line: Any,
                  media_type: str) -> StreamingResponse:
    slot = events.stream_slot(state, client) if follow else None
    if slot is not None:
        await slot.__aenter__()  # 429 now, not after the 200 was sent

    async def body() -> Any:
        try:
            async for chunk in jobs.follow_rows(state, task, user, after=after, follow=follow, line=line):
                yield chunk
        finally:
            if slot is not None:
                await slot.__aexit__(None, None, None)

    return StreamingResponse(body(), media_type=media_type, headers=STREAM_HEADERS)


@router.post("/data/examples", response_model=Accepted)
async def start_examples(body: JsonObject, state: StateDep, user: OptionalUserDep, client: ClientKeyDep,
                         openai_key: OpenAIKey = None) -> Accepted:
    """Whole training examples: `task_description`, `num_examples`, `turns`, `system_prompt`, `seed_examples`
    ([{messages}]), or `session_id` of one of your analysed datasets to sample seeds from ("grow this dataset")."""
    request = {k: v for k, v in body.items() if k != "session_id"}
    task = await jobs.start_generation(state, "examples", user, client, request, openai_key=openai_key,
                                       session_id=body.get("session_id"))
    return Accepted(task_id=task.id)


@router.post("/data/view", response_model=Accepted)
async def start_view(body: JsonObject, state: StateDep, user: OptionalUserDep, client: ClientKeyDep,
                     openai_key: OpenAIKey = None) -> Accepted:
    """Seed 000: `prompt`, `num_samples`, `task` (text_classification | seq2seq), `num_labels`, `labels`,
    `valid_data`, `invalid_data`. The rows come through GET /track/{task_id} (and GET /data/rows/{task_id})."""
    task = await jobs.start_generation(state, "view", user, client, body, openai_key=openai_key)
    return Accepted(task_id=task.id)


@router.post("/question", response_model=Accepted)
async def start_questions(body: JsonObject, state: StateDep, user: OptionalUserDep, client: ClientKeyDep,
                          openai_key: OpenAIKey = None, hub_key: HubKey = None) -> Accepted:
    """Seed 000: question/answer pairs grounded in `content` (`index`, `multiple_chunks`, `num_samples`); with a
    `repo` (and `split`, default [80, 10, 10]) they are pushed to that Hub dataset."""
    if "repo" not in body:
        return await _accepted(state, "questions", user, client, seed000.questions_request(body), openai_key)
    request, hub = seed000.hub_target(body, "push")
    return await _accepted(state, "questions", user, client, request, openai_key, hub, hub_key)


@router.put("/question", response_model=Accepted)
async def append_questions(body: JsonObject, state: StateDep, user: OptionalUserDep, client: ClientKeyDep,
                           openai_key: OpenAIKey = None, hub_key: HubKey = None) -> Accepted:
    """Seed 000: questions from `content`, added to one `split` of the Hub dataset `repo`."""
    request, hub = seed000.hub_target(body, "append")
    return await _accepted(state, "questions", user, client, request, openai_key, hub, hub_key)


@router.post("/data", response_model=Accepted)
async def push_data(body: JsonObject, state: StateDep, user: OptionalUserDep, client: ClientKeyDep,
                    openai_key: OpenAIKey = None, hub_key: HubKey = None) -> Accepted:
    """Seed 000: generate `num_samples` rows (`labels`, `valid_data`, `invalid_data`; `prompt` and `task` as for
    /data/view) and push them to the Hub dataset `repo`, split by `split` percentages (default [80, 10, 10])."""
    request, hub = seed000.hub_target(body, "push")
    return await _accepted(state, "view", user, client, seed000.data_request(request), openai_key, hub, hub_key)


@router.put("/data", response_model=Accepted)
async def append_data(body: JsonObject, state: StateDep, user: OptionalUserDep, client: ClientKeyDep,
                      openai_key: OpenAIKey = None, hub_key: HubKey = None) -> Accepted:
    """Seed 000: as POST /data, but the rows are added to one `split` of an existing Hub dataset."""
    request, hub = seed000.hub_target(body, "append")
    return await _accepted(state, "view", user, client, seed000.data_request(request), openai_key, hub, hub_key)


async def _accepted(state: StateDep, mode: str, user: Any, client: str, request: dict[str, Any],
                    openai_key: str | None, hub: Any = None, hub_key: str | None = None) -> Accepted:
    hub_token = await resolve_hub_token(state, user, hub_key) if hub is not None else None
    task = await jobs.start_generation(state, mode, user, client, request, openai_key=openai_key, hub=hub,
                                       hub_token=hub_token)
    return Accepted(task_id=task.id)


@router.get("/data/providers", response_model=ProviderList)
async def providers(state: StateDep) -> dict[str, Any]:
    """The providers a request may name (`provider`), the first being the default; never a URL or a key."""
    return {"providers": jobs.provider_views(state)}


@router.post("/data/estimate", response_model=EstimateRead)
async def estimate(body: EstimateRequest, state: StateDep, user: OptionalUserDep) -> dict[str, Any]:
    """What a request would cost before it starts: requests, prompt and completion tokens, dollars."""
    return await jobs.estimate(state, body.kind, body.request, body.session_id, user)
