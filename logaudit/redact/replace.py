"""What a value is replaced with: ``mask`` (what ``scan`` shows), ``label`` or ``pseudonym``.

A replacement is a function of (rule, raw value, key) only, so one value gives one output in
every file, range, worker and run.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from logaudit.engine.model import Hit
from logaudit.findings import mask_hit
from logaudit.rules import Category, Rule
from logaudit.settings import Replace

__all__ = ["Replace", "Replacer", "already_redacted", "inside_token", "pseudonym", "rewrites"]

# Domain separation: a pseudonym is not a prefix of any finding's fingerprint.
_PSEUDONYM_TAG = b"logaudit-pseudonym-v1\x00"
#: Hex digits of a pseudonym: 48 bits, so a million distinct values rarely share a token.
PSEUDONYM_HEX = 12


def rewrites(rule: Rule) -> bool:
    """Whether a hit of ``rule`` has its value replaced: every secret and PII value, and the
    value of an error/disclosure rule that marks its group as one (``mask = "value"``)."""
    if rule.category in (Category.SECRET, Category.PII):
        return True
    return rule.mask == "value" and not rule.detector  # a stack trace has no value span


# What replacements leave behind: labels, pseudonyms, runs of mask stars.
_TOKENS = re.compile(rb"\[REDACTED:[a-z0-9-]+\]?|<[a-z0-9-]+#[0-9a-f]{1,%d}>?|\*+" % PSEUDONYM_HEX)
_ALNUM = re.compile(rb"[A-Za-z0-9]")


def already_redacted(value: bytes) -> bool:
    """True when ``value`` holds nothing but replacement tokens, stars and punctuation: a rule
    that matches anything in brackets (``[parameters: …]``) must not rewrite its own output."""
    return _ALNUM.search(_TOKENS.sub(b"", value)) is None


_WHOLE_TOKEN = re.compile(rb"\[REDACTED:[a-z0-9-]+\]|<[a-z0-9-]+#[0-9a-f]{%d}>" % PSEUDONYM_HEX)


def inside_token(text: bytes, start: int, end: int) -> bool:
    """True when ``text[start:end]`` overlaps a label or pseudonym already in the line (a rule
    that reads ``password:`` must not see one in ``<generic-password#3f9a…>``)."""
    if b"[REDACTED:" not in text and b"<" not in text:
        return False
    return any(m.start() < end and start < m.end() for m in _WHOLE_TOKEN.finditer(text))


def pseudonym(key: bytes, rule_id: str, value: bytes) -> bytes:
    """``<rule-id#hex>``: a keyed token, the same for one value in every file and run.

    ``#``, not ``:``: ``<generic-password:…>`` would read as a ``password:`` field to the
    rules and be found again.

    The token depends on the value only (not the rule), so one e-mail address found by two
    rules still reads as one person; without the key it cannot be reversed or brute-forced.
    """
    digest = hmac.new(key, _PSEUDONYM_TAG + value, hashlib.sha256).hexdigest()[:PSEUDONYM_HEX]
    return f"<{rule_id}#{digest}>".encode()


class Replacer:
    """Turns a hit's raw value into its replacement bytes."""

    def __init__(self, mode: Replace | str, key: bytes) -> None:
        self.mode = Replace(mode)
        self.key = key

    def __call__(self, hit: Hit, value: bytes) -> bytes:
        """The bytes written in place of ``value``."""
        if self.mode is Replace.LABEL:
            return b"[REDACTED:" + hit.rule.id.encode() + b"]"
        if self.mode is Replace.PSEUDONYM:
            return pseudonym(self.key, hit.rule.id, value)
        return mask_hit(hit, value).encode("utf-8")
