"""Exploration modes (seed 004): how far generated rows may wander from the seeds.

Each mode is one documented preset: the sampling settings sent with every request, and one sentence
added to the prompt. Sampling alone is not enough: a tiny model at temperature 1.3 writes noise, and
a large one at 0.4 still copies the seeds unless it is told not to, so both move together.

| mode         | temperature | top_p | presence_penalty | what the prompt asks                                 |
|--------------|-------------|-------|------------------|------------------------------------------------------|
| CONSERVATIVE | 0.4         | 0.85  | 0.0              | stay close to the seeds' topics, style and length    |
| BALANCED     | 0.7         | 0.9   | 0.3              | same kind of input, new situations and wording       |
| CREATIVE     | 0.95        | 0.95  | 0.6              | new angles and users, edge cases, varied length      |
| ADVENTUROUS  | 1.15        | 1.0   | 0.9              | unusual but plausible inputs, hard and rare cases    |
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ExplorationMode(StrEnum):
    CONSERVATIVE = "CONSERVATIVE"
    BALANCED = "BALANCED"
    CREATIVE = "CREATIVE"
    ADVENTUROUS = "ADVENTUROUS"


@dataclass(frozen=True, slots=True)
class Sampling:
    temperature: float
    top_p: float
    presence_penalty: float = 0.0
    max_tokens: int = 1024

    def with_max_tokens(self, max_tokens: int) -> Sampling:
        return Sampling(self.temperature, self.top_p, self.presence_penalty, max_tokens)


@dataclass(frozen=True, slots=True)
class Preset:
    mode: ExplorationMode
    sampling: Sampling
    instruction: str


PRESETS: dict[ExplorationMode, Preset] = {
    ExplorationMode.CONSERVATIVE: Preset(
        ExplorationMode.CONSERVATIVE,
        Sampling(temperature=0.4, top_p=0.85),
        "Stay close to the examples: the same topics, style and length, with new wording and details.",
    ),
    ExplorationMode.BALANCED: Preset(
        ExplorationMode.BALANCED,
        Sampling(temperature=0.7, top_p=0.9, presence_penalty=0.3),
        "Write the same kind of input as the examples, but for new situations, with new wording.",
    ),
    ExplorationMode.CREATIVE: Preset(
        ExplorationMode.CREATIVE,
        Sampling(temperature=0.95, top_p=0.95, presence_penalty=0.6),
        "Explore new angles: other kinds of users, edge cases, different lengths and tones, still on task.",
    ),
    ExplorationMode.ADVENTUROUS: Preset(
        ExplorationMode.ADVENTUROUS,
        Sampling(temperature=1.15, top_p=1.0, presence_penalty=0.9),
        "Go far from the examples: unusual but plausible inputs, hard and rare cases, surprising requests.",
    ),
}


def preset_for(mode: ExplorationMode | str) -> Preset:
    return PRESETS[ExplorationMode(mode)]
