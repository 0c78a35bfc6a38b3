"""Masking primitives shared by the engine's detectors and the finding builder."""

from __future__ import annotations

import re


def mask_digits(value: bytes, keep: int) -> bytes:
    """Replace every digit but the last ``keep`` with ``*``, keeping separators and length."""
    total = sum(48 <= c <= 57 for c in value)
    out = bytearray()
    seen = 0
    for c in value:
        if 48 <= c <= 57:
            seen += 1
            out.append(c if seen > total - keep else 42)
        else:
            out.append(c)
    return bytes(out)


_M_EMAIL = re.compile(rb"([A-Za-z0-9])([A-Za-z0-9._%+-]*)(@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")
_M_KV = re.compile(
    rb"(?i)((?:pass(?:word|wd)?|pwd|secret|token|api[_-]?key|authorization|cookie|session(?:id)?"
    rb"|credentials?)[\"']?\s*[:=]\s*[\"']?(?:bearer\s+|basic\s+)?)([^\s\"',;&)]+)")
_M_LONG = re.compile(rb"[A-Za-z0-9+/_=-]{20,}")
_M_DIGITS = re.compile(rb"\d(?:[ -]?\d){8,}")
_HEX = re.compile(rb"^[0-9a-fA-F]{32,}$")


def _stars(b: bytes, keep_head: int = 0, keep_tail: int = 0) -> bytes:
    n = len(b)
    if n <= keep_head + keep_tail:
        return b"*" * n
    return b[:keep_head] + b"*" * (n - keep_head - keep_tail) + (b[n - keep_tail:]
                                                                 if keep_tail else b"")


def _mask_long(m: re.Match[bytes]) -> bytes:
    tok = m.group(0)
    digits = sum(48 <= c <= 57 for c in tok)
    letters = sum(65 <= c <= 90 or 97 <= c <= 122 for c in tok)
    # Token-like: digits and letters mixed (AKIA… ids are upper-case only), or long hex.
    return _stars(tok, 2) if (digits >= 2 and letters >= 2) or _HEX.match(tok) else tok


def mask_text(text: bytes) -> bytes:
    """Length-preserving conservative masking of secrets and PII inside a message or line."""
    text = _M_KV.sub(lambda m: m.group(1) + _stars(m.group(2)), text)
    text = _M_EMAIL.sub(lambda m: m.group(1) + _stars(m.group(2)) + m.group(3), text)
    text = _M_LONG.sub(_mask_long, text)
    return _M_DIGITS.sub(lambda m: mask_digits(m.group(0), 2), text)
