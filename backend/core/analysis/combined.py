"""Every chunk's results taken together: what each report section is computed from.

`combine` sorts the chunk results, concatenates their example columns (record numbers made
global) and works out where each chunk's records and examples start; the sections of merge.py
then read one `Combined`, never the chunk results' local numbers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import numpy.typing as npt

from backend.core.analysis.chunk import ChunkResult
from backend.core.analysis.columns import Columns, no_pairs
from backend.core.analysis.plan import FORMATS, AnalysisPlan
from backend.core.conversation import SourceFormat
from backend.core.errors import InvalidInputError

I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Combined:
    plan: AnalysisPlan
    results: list[ChunkResult]  # in chunk order
    columns: Columns
    band_keys: npt.NDArray[np.uint64]
    record_bases: list[int]  # per chunk: records in the chunks before it
    example_bases: list[int]  # per chunk: usable examples in the chunks before it
    records_total: int
    store_dir: Path

    @property
    def cap(self) -> int:
        return self.plan.options.max_examples_listed

    @cached_property
    def formats(self) -> Counter[str]:
        """Usable examples per detected format, most common first."""
        codes, counts = np.unique(self.columns["format_code"], return_counts=True)
        return Counter({FORMATS[int(code)].value: int(n) for code, n in zip(codes, counts, strict=True)})

    @property
    def main_format(self) -> str:
        return self.formats.most_common(1)[0][0] if self.formats else SourceFormat.UNKNOWN.value

    @cached_property
    def chunk_of(self) -> I64:
        """The chunk each example was read from (its store file)."""
        sizes = [r.examples for r in self.results]
        return np.repeat(np.arange(len(sizes), dtype=np.int64), sizes)

    def record_pairs(self, per_chunk: Iterable[I64]) -> I64:
        """Chunk-local (index, line) rows, in chunk order, made global."""
        parts = [pairs + np.array([base, 0]) for pairs, base in zip(per_chunk, self.record_bases, strict=True)]
        return np.concatenate(parts).astype(np.int64) if parts else no_pairs()

    def example_positions(self, per_chunk: Iterable[I64]) -> I64:
        """Chunk-local example positions, in chunk order, made global (rows of `columns`)."""
        parts = [positions + base for positions, base in zip(per_chunk, self.example_bases, strict=True)]
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)


def combine(plan: AnalysisPlan, results: list[ChunkResult], store_dir: Path) -> Combined:
    results = sorted(results, key=lambda r: r.chunk_no)
    if [r.chunk_no for r in results] != list(range(len(plan.chunks))):
        raise InvalidInputError("merge_results needs exactly one result for every chunk of the plan.")
    record_bases = np.concatenate([[0], np.cumsum([r.records for r in results])]).astype(np.int64)
    example_bases = np.concatenate([[0], np.cumsum([r.examples for r in results])]).astype(np.int64)
    bands = [r.band_keys for r in results if r.band_keys.size]
    return Combined(
        plan=plan,
        results=results,
        columns=Columns.concatenate([r.columns for r in results], [int(b) for b in record_bases[:-1]]),
        band_keys=np.concatenate(bands) if bands else np.zeros((0, 0), dtype=np.uint64),
        record_bases=[int(b) for b in record_bases[:-1]],
        example_bases=[int(b) for b in example_bases[:-1]],
        records_total=int(record_bases[-1]),
        store_dir=store_dir,
    )
