"""Browsing an analysed dataset: which stored examples match a query, in what order, and their lengths.

    query = ExampleQuery(text="refund", role="assistant", min_tokens=100, sort="tokens_desc")
    selection = select_examples(store_dir, query)      # positions among the usable examples
    page = read_positions(store_dir, selection.positions[0:10])
    bins = log_histogram(token_counts(store_dir), max_seq_length=2048)

It reads the analysis store (backend.core.analysis.store) and never changes it. Memory stays bounded by
the number of examples (one integer per match), never by their text: a scan streams the examples.
"""

from __future__ import annotations

from backend.core.browse.histogram import LogBin, log_histogram
from backend.core.browse.query import SORTS, ExampleQuery, example_language, matches_example
from backend.core.browse.select import Selection, position_in, read_positions, select_examples, token_counts

__all__ = [
    "SORTS",
    "ExampleQuery",
    "LogBin",
    "Selection",
    "example_language",
    "log_histogram",
    "matches_example",
    "position_in",
    "read_positions",
    "select_examples",
    "token_counts",
]
