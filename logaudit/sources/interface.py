"""What sources hand to the runner: inputs to read, and inputs that could not be read."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class InputRef:
    """One input to scan. ``fs_path`` is None for standard input."""

    path: str
    fs_path: str | None
    size: int | None = None


@dataclass(frozen=True, slots=True)
class InputError:
    """An input (or archive member) that was not read, or not read to the end.

    ``kind`` is ``"error"`` (makes the scan incomplete, exit 3) or ``"skipped"`` (by policy:
    binary file, FIFO, device — counted, not an error).
    """

    path: str
    reason: str
    kind: str = "error"
