"""What a generation task will cost, before it starts and as it runs, from a price table.

Prices are US dollars per million tokens, per provider (settings). The estimate before starting counts
the first batch's real prompt with the project's tokenizer and assumes every batch looks like it; the
completion side is `wanted` rows of about the seeds' length (JSON overhead included). Rows dropped by
the quality gates cost requests too, so the batch count allows for a share of drops
(EXPECTED_DROP_SHARE): an estimate, labelled as one, never a promise.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

EXPECTED_DROP_SHARE = 0.25
JSON_OVERHEAD_TOKENS = 12  # quotes, braces, keys per row


@dataclass(frozen=True, slots=True)
class Price:
    prompt_per_million: float
    completion_per_million: float

    def cost(self, prompt_tokens: float, completion_tokens: float) -> float:
        return (prompt_tokens * self.prompt_per_million + completion_tokens * self.completion_per_million) / 1e6


@dataclass(frozen=True, slots=True)
class CostEstimate:
    batches: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None  # None: the provider has no price (a local server, the embedded model)
    tokenizer: str
    assumptions: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def estimate_cost(*, rows: int, batch_size: int, prompt_tokens_per_batch: int, completion_tokens_per_row: int,
                  price: Price | None, tokenizer: str, extra_requests: int = 0,
                  prompt_tokens_per_extra: int = 0) -> CostEstimate:
    """Batches needed for `rows` rows (allowing for drops), and their tokens and price.

    `extra_requests`: requests beyond the batches (a judge pass per batch, a labels request).

    >>> e = estimate_cost(rows=100, batch_size=5, prompt_tokens_per_batch=400, completion_tokens_per_row=30,
    ...                   price=Price(0.15, 0.60), tokenizer="o200k_base")
    >>> e.batches, e.prompt_tokens, e.completion_tokens, round(e.cost_usd, 6)
    (27, 10800, 4050, 0.00405)
    """
    batches = math.ceil(rows / (batch_size * (1 - EXPECTED_DROP_SHARE)))
    prompt = batches * prompt_tokens_per_batch + extra_requests * prompt_tokens_per_extra
    completion = batches * batch_size * completion_tokens_per_row
    return CostEstimate(
        batches=batches,
        prompt_tokens=prompt,
        completion_tokens=completion,
        cost_usd=None if price is None else price.cost(prompt, completion),
        tokenizer=tokenizer,
        assumptions=(f"every batch's prompt as long as the first one; {completion_tokens_per_row} tokens per row "
                     f"written; {int(EXPECTED_DROP_SHARE * 100)}% of rows dropped by the quality gates"),
    )
