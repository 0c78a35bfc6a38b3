"""Masking primitives shared by the engine's detectors and the finding builder (no imports)."""

from __future__ import annotations


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
