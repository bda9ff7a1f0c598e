"""Likely personal data and secrets in message text: cheap substring probes first, regexes only when one hits.

The probes matter for speed: most messages contain no '@', no 'AKIA', no 'sk-', and many no
ASCII digit, so the regex engine never runs on them (phone numbers written in other digits
are therefore not found). The phone pattern insists on separators or a leading '+' so that
plain numbers (years, prices, ids, IP addresses) do not count.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# kind -> (substring probe or None, pattern)
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_PHONE = re.compile(
    r"(?<![\w+.])(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)[ .-]?|\d{2,4}[ .-])\d{3,4}[ .-]\d{3,4}(?![\w-]|\.\d)"
    r"|(?<![\w+])\+\d{9,14}(?!\w)"
)
_DIGIT_RUN = re.compile(r"\d{2,4}[ .)-]+\d{3,4}")
PHONE_MIN_DIGITS = 8
_SECRETS: tuple[tuple[str, str, re.Pattern[str]], ...] = (
    ("aws_access_key", "AKIA", re.compile(r"\bAKIA[0-9A-Z]{16}\b")),
    ("openai_key", "sk-", re.compile(r"\bsk-(?:proj-|ant-)?(?=[A-Za-z0-9_-]*\d)[A-Za-z0-9_-]{20,}")),
    ("github_token", "gh", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b")),
    ("slack_token", "xox", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("private_key", "PRIVATE KEY", re.compile(r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----")),
    ("jwt", "eyJ", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
)

PII_KINDS: tuple[str, ...] = ("email", "phone", *(kind for kind, _, _ in _SECRETS))
SECRET_KINDS: frozenset[str] = frozenset(kind for kind, _, _ in _SECRETS)


def find_pii(text: str) -> set[str]:
    """The kinds of likely personal data or secrets in `text`.

    >>> sorted(find_pii("mail me at ann@example.org or call +1 415-555-0132"))
    ['email', 'phone']
    >>> sorted(find_pii("key AKIAIOSFODNN7EXAMPLE"))
    ['aws_access_key']
    >>> find_pii("In 2024 we sold 1,200 units for 35.50 each.")
    set()
    """
    kinds: set[str] = set()
    if "@" in text and _EMAIL.search(text):
        kinds.add("email")
    if _has_phone_digits(text) and _DIGIT_RUN.search(text) and _PHONE.search(text):
        kinds.add("phone")
    for kind, probe, pattern in _SECRETS:
        if probe in text and pattern.search(text):
            kinds.add(kind)
    return kinds


def _has_phone_digits(text: str) -> bool:
    """At least the 8 ASCII digits the shortest phone pattern needs (2 + 3 + 3, or + and 9).

    Ten counts run in C over the text; a text with a score or a year in it ("0.71", "2024") no
    longer pays for two regex scans.
    """
    return sum(text.count(digit) for digit in "0123456789") >= PHONE_MIN_DIGITS


def find_pii_in(texts: Iterable[str]) -> set[str]:
    kinds: set[str] = set()
    for text in texts:
        if text:
            kinds |= find_pii(text)
    return kinds


# --- masking (the fix-it action "mask PII"): the same patterns as find_pii, so what the report counts
# is what gets masked. A private key is masked from its BEGIN line through its END line.
PII_PLACEHOLDERS: dict[str, str] = {kind: f"[{kind.upper()}]" for kind in PII_KINDS}
_PRIVATE_KEY_BLOCK = re.compile(
    r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----(?:.*?-----END (?:[A-Z]+ )*PRIVATE KEY-----)?", re.DOTALL
)


def mask_pii(text: str) -> tuple[str, dict[str, int]]:
    """`text` with every likely e-mail, phone number and secret replaced by a placeholder, and the counts.

    >>> mask_pii("mail ann@example.org or call +1 415-555-0132")
    ('mail [EMAIL] or call [PHONE]', {'email': 1, 'phone': 1})
    >>> mask_pii("no personal data here")
    ('no personal data here', {})
    """
    counts: dict[str, int] = {}

    def substitute(kind: str, pattern: re.Pattern[str], value: str) -> str:
        masked, n = pattern.subn(PII_PLACEHOLDERS[kind], value)
        if n:
            counts[kind] = counts.get(kind, 0) + n
        return masked

    for kind, probe, pattern in _SECRETS:  # secrets first: a key can hold digit runs that look like phones
        if probe in text:
            text = substitute(kind, _PRIVATE_KEY_BLOCK if kind == "private_key" else pattern, text)
    if "@" in text:
        text = substitute("email", _EMAIL, text)
    if _has_phone_digits(text) and _DIGIT_RUN.search(text):
        text = substitute("phone", _PHONE, text)
    return text, counts
