"""Balanced label quotas for classification: every label gets its share of the rows asked for.

    >>> q = LabelQuotas(["a", "b", "c"], 7)
    >>> q.quota
    {'a': 3, 'b': 2, 'c': 2}
    >>> q.next_label(), q.accept("a"), q.accept("a"), q.accept("a"), q.accept("a")
    ('a', True, True, True, False)

Each batch asks for one label: the one furthest from its quota, counting rows already requested by
batches still in flight, so concurrent batches do not all ask for the same label.
"""

from __future__ import annotations

from collections.abc import Sequence


class LabelQuotas:
    def __init__(self, labels: Sequence[str], total: int) -> None:
        share, extra = divmod(total, len(labels))
        self.quota = {label: share + (1 if i < extra else 0) for i, label in enumerate(labels)}
        self.accepted = dict.fromkeys(labels, 0)
        self._requested = dict.fromkeys(labels, 0)

    def remaining(self, label: str) -> int:
        return self.quota[label] - self.accepted[label]

    def next_label(self) -> str:
        """The label most in need of rows (ties: the first in the given order)."""
        return max(self.quota, key=lambda label: self.remaining(label) - self._requested[label])

    def request(self, label: str, count: int) -> None:
        self._requested[label] += count

    def release(self, label: str, count: int) -> None:
        self._requested[label] = max(0, self._requested[label] - count)

    def accept(self, label: str) -> bool:
        """Count a row for `label`; False (not counted) once the label's quota is full."""
        if label not in self.quota or self.remaining(label) <= 0:
            return False
        self.accepted[label] += 1
        return True
