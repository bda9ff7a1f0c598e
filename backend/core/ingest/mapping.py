"""Mapping a schema we do not know onto the canonical fields and roles, and previewing the result.

    field mapping   canonical field -> the record's own key (or column), e.g. {"prompt": "question",
                    "completion": "answer"}; applied to every record before its format is detected.
                    "role" and "content" name the keys inside each message: {"messages": "dialog",
                    "role": "speaker", "content": "text"}
    role mapping    role name as written -> canonical role, e.g. {"bot": "assistant", "customer": "user"}

`check_mapping` refuses a mapping that could not work (an unknown field, a role that is not a
canonical one) before anything is analysed; `parse_map_arguments` reads the CLI's `--map` forms;
`preview_mapping` converts the first records of a file with a mapping, so a person sees what it
does before running the whole analysis.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from itertools import islice
from pathlib import Path
from typing import Any

from backend.core.conversation import CANONICAL_ROLES
from backend.core.errors import InvalidInputError
from backend.core.ingest.convert import MESSAGE_FIELDS
from backend.core.ingest.reader import iter_records
from backend.core.ingest.record import MAPPABLE_FIELDS, IngestOptions
from backend.core.ingest.sniff import sniff_file

MAX_MAPPED = 50  # entries in one mapping
PREVIEW_MAX = 20


@dataclass(frozen=True)
class MappedRecord:
    index: int
    line: int | None
    keys: list[str]  # the record's own top-level keys (what can be mapped)
    format: str | None  # the detected format after mapping; None when the record is still unusable
    example: dict[str, Any] | None  # its canonical JSON (the analysis store's shape)
    issues: list[dict[str, str]]  # {"code", "severity", "message"}


def check_mapping(
    field_mapping: Mapping[str, str] | None, role_mapping: Mapping[str, str] | None
) -> tuple[dict[str, str] | None, dict[str, str] | None]:
    """The mappings as IngestOptions takes them (role names lower-cased), or a clear error."""
    fields = dict(field_mapping) if field_mapping else None
    roles = {k.strip().lower(): v for k, v in role_mapping.items()} if role_mapping else None
    for name, mapping in (("field_mapping", fields), ("role_mapping", roles)):
        if mapping is not None and (len(mapping) > MAX_MAPPED or not all(
                isinstance(k, str) and isinstance(v, str) and k and v and len(k) <= 200 and len(v) <= 200
                for k, v in mapping.items())):
            raise InvalidInputError(f"{name} must map up to {MAX_MAPPED} non-empty names to names.", field=name)
    unknown = sorted(set(fields or ()) - set(MAPPABLE_FIELDS) - set(MESSAGE_FIELDS))
    if unknown:
        raise InvalidInputError(
            f"field_mapping maps to unknown field(s) {', '.join(unknown)}: the keys are the canonical fields "
            f"({', '.join(MAPPABLE_FIELDS + MESSAGE_FIELDS)}) and the values the names your records use, e.g. "
            '{"prompt": "question", "completion": "answer"}.',
            field="field_mapping", unknown=unknown,
        )
    bad_roles = sorted({v for v in (roles or {}).values() if v not in CANONICAL_ROLES})
    if bad_roles:
        raise InvalidInputError(
            f"role_mapping maps to {', '.join(bad_roles)}, which {'is' if len(bad_roles) == 1 else 'are'} not "
            f"a role: map your role names to {', '.join(CANONICAL_ROLES)}, e.g. "
            '{"bot": "assistant", "customer": "user"}.',
            field="role_mapping", roles=bad_roles,
        )
    return fields, roles


def parse_map_arguments(items: Iterable[str]) -> tuple[dict[str, str] | None, dict[str, str] | None]:
    """The CLI's `--map FIELD=NAME` (a field) and `--map role:NAME=ROLE` (a role) arguments.

    >>> parse_map_arguments(["prompt=question", "completion=answer", "role:bot=assistant"])
    ({'prompt': 'question', 'completion': 'answer'}, {'bot': 'assistant'})
    """
    fields: dict[str, str] = {}
    roles: dict[str, str] = {}
    for item in items:
        left, equals, right = item.partition("=")
        if not equals or not left.strip() or not right.strip():
            raise InvalidInputError(
                f"--map {item!r}: write FIELD=YOUR_NAME (e.g. prompt=question) or role:YOUR_ROLE=ROLE "
                "(e.g. role:bot=assistant).", field="map",
            )
        if left.startswith("role:"):
            roles[left.removeprefix("role:").strip()] = right.strip()
        else:
            fields[left.strip()] = right.strip()
    return check_mapping(fields or None, roles or None)


def preview_mapping(path: Path, options: IngestOptions, count: int = 5) -> list[MappedRecord]:
    """The first `count` records of the file, converted with the options' mappings."""
    count = max(1, min(count, PREVIEW_MAX))
    info = sniff_file(path, options)
    out: list[MappedRecord] = []
    for record in islice(iter_records(path, info, options=replace(options, max_records=count)), count):
        conv = record.conversation
        out.append(MappedRecord(
            index=record.index,
            line=record.line,
            keys=[str(k) for k in record.raw][:50] if isinstance(record.raw, dict) else [],
            format=conv.format.value if conv is not None else None,
            example=conv.to_json() if conv is not None else None,
            issues=[{"code": i.code, "severity": i.severity, "message": i.message} for i in record.issues],
        ))
    return out
