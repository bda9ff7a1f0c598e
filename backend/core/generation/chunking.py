"""Content cut into chunks of at most N tokens, counted exactly with the project's tokenizers.

Chunks end at paragraph breaks where they can, then at sentence ends, then between words (a sentence
longer than a chunk is cut between words). Each chunk is a span of the original text (whitespace kept)
whose own exact token count is at most `max_tokens`: the pieces are packed by the sum of their counts,
and since BPE may merge across a join, every packed chunk is counted again as a whole and gives back its
last piece while it is over the limit.

    >>> from backend.core.tokens import get_counter
    >>> [c.tokens for c in chunk_by_tokens("One. Two.\\n\\nThree.", get_counter("cl100k_base"), 4)]
    [4, 2]
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from backend.core.errors import InvalidInputError
from backend.core.tokens import TokenCounter

_PARAGRAPH = re.compile(r"\n\s*\n")
_SENTENCE = re.compile(r"(?<=[.!?。！？])\s+")
_WORD = re.compile(r"\S+\s*")


@dataclass(frozen=True, slots=True)
class Chunk:
    number: int  # 0-based position among the chunks of the content
    start: int  # character offsets into the content
    end: int
    text: str
    tokens: int


Span = tuple[int, int]


def _split(content: str, start: int, end: int, pattern: re.Pattern[str]) -> list[Span]:
    spans: list[Span] = []
    position = start
    for match in pattern.finditer(content, start, end):
        if match.start() > position:
            spans.append((position, match.start()))
        position = match.end()
    if position < end:
        spans.append((position, end))
    return spans


def _pieces(content: str, counter: TokenCounter, max_tokens: int) -> list[tuple[Span, int]]:
    """Spans no longer than max_tokens each, with their counts: paragraphs, else sentences, else words."""
    return [fitted for span in _split(content, 0, len(content), _PARAGRAPH)
            for fitted in _fit(content, span, counter, max_tokens, (_SENTENCE, _WORD))]


def _fit(content: str, span: Span, counter: TokenCounter, max_tokens: int,
         finer: tuple[re.Pattern[str], ...]) -> list[tuple[Span, int]]:
    tokens = counter.count(content[span[0]:span[1]])
    if tokens <= max_tokens:
        return [(span, tokens)]
    if not finer:  # one "word" longer than a chunk (a URL, a base64 blob): cut it by characters
        width = max(1, (span[1] - span[0]) * max_tokens // (tokens + 1))
        out: list[tuple[Span, int]] = []
        for s in range(span[0], span[1], width):
            piece = (s, min(s + width, span[1]))
            count = counter.count(content[piece[0]:piece[1]])
            if count > max_tokens and width > 1:
                out.extend(_fit(content, piece, counter, max_tokens, ()))
            else:
                out.append((piece, count))
        return out
    pieces = _split(content, span[0], span[1], finer[0])
    if len(pieces) <= 1:
        return _fit(content, span, counter, max_tokens, finer[1:])
    return [fitted for piece in pieces for fitted in _fit(content, piece, counter, max_tokens, finer[1:])]


def chunk_by_tokens(content: str, counter: TokenCounter, max_tokens: int) -> list[Chunk]:
    if max_tokens < 1:
        raise InvalidInputError("A chunk must hold at least one token.", code="invalid_chunk_size")
    if not content.strip():
        raise InvalidInputError("The content is empty: give the text to ask questions about.",
                                code="empty_content")
    pieces = _pieces(content, counter, max_tokens)
    groups: list[list[tuple[Span, int]]] = []
    current: list[tuple[Span, int]] = []
    total = 0
    for piece in pieces:
        if current and total + piece[1] > max_tokens:
            groups.append(current)
            current, total = [], 0
        current.append(piece)
        total += piece[1]
    if current:
        groups.append(current)
    chunks: list[Chunk] = []
    while groups:
        group = groups.pop(0)
        start, end = group[0][0][0], group[-1][0][1]
        tokens = counter.count(content[start:end])
        if tokens > max_tokens and len(group) > 1:  # a merge across a join went over: give back the last piece
            groups[:0] = [group[:-1], group[-1:]]
            continue
        chunks.append(Chunk(len(chunks), start, end, content[start:end], tokens))
    return chunks
