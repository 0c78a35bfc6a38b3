"""Limits against hostile archives (decompression bombs, deep nesting, member floods).

One :class:`Budget` is kept per top-level input; every decoded byte of every layer is charged
to it. Hitting a limit raises :class:`LimitExceeded`, which stops that input only.
"""

from __future__ import annotations

from dataclasses import dataclass

from logaudit.sources.interface import StreamError, human_bytes

# Below this many decoded bytes the ratio is not checked: tiny, very repetitive logs compress
# far better than 1000:1 and are harmless.
RATIO_GRACE = 16 << 20


@dataclass(frozen=True)
class Limits:
    """Per-input limits; 0 disables one. All are configurable from the CLI."""

    max_decompressed: int = 64 << 30
    """Total bytes decoded from one input (every codec layer and member added up)."""
    max_ratio: float = 1000.0
    """Decoded bytes per compressed byte read from the input."""
    max_members: int = 100_000
    """Archive members in one input, nested archives included."""
    max_depth: int = 8
    """Nesting: each codec layer and each archive level counts one."""


class LimitExceeded(StreamError):
    """A limit was hit; the input is abandoned (findings so far are kept)."""


class Budget:
    """Counters of one top-level input, checked against :class:`Limits`."""

    __slots__ = ("limits", "path", "raw", "decoded", "members")

    def __init__(self, limits: Limits, path: str) -> None:
        self.limits = limits
        self.path = path
        self.raw = 0
        self.decoded = 0
        self.members = 0

    def charge(self, n: int) -> None:
        """Record ``n`` decoded bytes; raise when a size or ratio limit is passed."""
        self.decoded += n
        lim = self.limits
        if lim.max_decompressed and self.decoded > lim.max_decompressed:
            raise LimitExceeded(self.path, f"limit: more than {human_bytes(lim.max_decompressed)}"
                                " decompressed (--max-decompressed); rest of input not scanned")
        if (lim.max_ratio and self.decoded > RATIO_GRACE
                and self.decoded > lim.max_ratio * max(self.raw, 1)):
            raise LimitExceeded(self.path, f"limit: compression ratio above {lim.max_ratio:g}:1 "
                                f"after {human_bytes(self.decoded)} decompressed (--max-ratio); "
                                "likely a decompression bomb, rest of input not scanned")

    def member(self, member_path: str) -> None:
        """Count one archive member."""
        self.members += 1
        if self.limits.max_members and self.members > self.limits.max_members:
            raise LimitExceeded(self.path, f"limit: more than {self.limits.max_members} archive "
                                f"members (--max-members) at {member_path}; rest not scanned")

    def depth(self, level: int, where: str) -> None:
        """Check the nesting level about to be opened."""
        if self.limits.max_depth and level > self.limits.max_depth:
            raise LimitExceeded(self.path, f"limit: nested deeper than {self.limits.max_depth} "
                                f"levels (--max-depth) at {where}; not scanned")


_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_size(text: str) -> int:
    """``"512M"``, ``"64G"``, ``"1000"`` → bytes (binary units; a trailing ``B``/``iB`` is ok)."""
    t = text.strip().upper().removesuffix("IB").removesuffix("B")
    unit = t[-1:] if t[-1:] in _UNITS else ""
    number = t[: len(t) - len(unit)]
    try:
        value = float(number)
    except ValueError:
        raise ValueError(f"not a size: {text!r} (expected e.g. 512M, 64G)") from None
    if value < 0:
        raise ValueError(f"not a size: {text!r} (negative)")
    return int(value * _UNITS[unit])
