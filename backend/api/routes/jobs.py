"""The signed-in user's job history: GET|POST /jobs, GET|PATCH|DELETE /jobs/{job_id}.

Every query is scoped to the caller, so someone else's job is a 404 exactly like a job that never existed.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request, Response

from backend.api.deps import CurrentUserDep, SessionDep, StateDep
from backend.api.schemas.jobs import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, JobCreate, JobList, JobRead, JobUpdate
from backend.db import repository as repo
from backend.db.models import Job
from backend.services.jobs import (
    delete_job_and_files,
    find_or_create_job,
    notebook_facts,
    owned_job,
    update_owned_job,
)

router = APIRouter(tags=["jobs"])


@router.get("/jobs", response_model=JobList)
async def list_jobs(
    request: Request,
    response: Response,
    user: CurrentUserDep,
    session: SessionDep,
    limit: int = Query(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE),
    offset: int = Query(0, ge=0),
) -> JobList:
    """The caller's jobs, newest first. Paging: `X-Total-Count` and RFC 8288 `Link` headers."""
    jobs, total = await repo.list_jobs(session, user.id, limit=limit, offset=offset)
    response.headers["X-Total-Count"] = str(total)
    links = page_links(request, limit, offset, total)
    if links:
        response.headers["Link"] = links
    return JobList(await read_jobs(session, jobs))


@router.post(
    "/jobs",
    response_model=JobRead,
    status_code=201,
    responses={200: {"model": JobRead, "description": "the session already had a job: that one"}},
)
async def create_job(
    body: JobCreate, response: Response, user: CurrentUserDep, session: SessionDep, state: StateDep
) -> JobRead:
    """Record a job for an upload session; the flow fills in the rest. One job per session and user."""
    job, created = await find_or_create_job(state, session, user, body.session_id, body.dataset_filename)
    if not created:
        response.status_code = 200
    return (await read_jobs(session, [job]))[0]


@router.get("/jobs/{job_id}", response_model=JobRead)
async def get_job(job_id: str, user: CurrentUserDep, session: SessionDep) -> JobRead:
    return (await read_jobs(session, [await owned_job(session, user, job_id)]))[0]


@router.patch("/jobs/{job_id}", response_model=JobRead)
async def update_job(job_id: str, body: JobUpdate, user: CurrentUserDep, session: SessionDep) -> JobRead:
    job = await update_owned_job(session, user, job_id, body.changes())
    return (await read_jobs(session, [job]))[0]


@router.delete("/jobs/{job_id}", status_code=204)
async def delete_job(job_id: str, user: CurrentUserDep, session: SessionDep, state: StateDep) -> Response:
    """Delete the job, its notebook, and its dataset unless another job still uses it."""
    await delete_job_and_files(state, session, user, job_id)
    return Response(status_code=204)


async def read_jobs(session: SessionDep, jobs: list[Job]) -> list[JobRead]:
    facts = await notebook_facts(session, jobs)
    return [JobRead.model_validate(job).model_copy(update=facts.get(job.id, {})) for job in jobs]


def page_links(request: Request, limit: int, offset: int, total: int) -> str:
    def link(page_offset: int, rel: str) -> str:
        url = request.url.include_query_params(limit=limit, offset=page_offset)
        return f'<{url}>; rel="{rel}"'

    links = [link(0, "first")]
    if offset > 0:
        links.append(link(max(offset - limit, 0), "prev"))
    if offset + limit < total:
        links.append(link(offset + limit, "next"))
    last = max((total - 1) // limit * limit, 0)
    links.append(link(last, "last"))
    return ", ".join(links)
