"""What sources hand to the runner: inputs to read, inputs that could not be read, and the
errors a stream raises while it is read."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class InputRef:
    """One input to scan. ``fs_path`` is None for standard input."""

    path: str
    fs_path: str | None
    size: int | None = None
    explicit: bool = False  # named on the command line (not found in a directory)


@dataclass(frozen=True, slots=True)
class InputError:
    """An input (or archive member) that was not read, or not read to the end.

    ``kind`` is ``"error"`` (makes the scan incomplete, exit 3), ``"skipped"`` (by policy:
    binary file, FIFO, device — counted, not an error) or ``"warning"`` (read whole, but
    something is odd: trailing garbage after a compressed stream). ``explicit``: the input was
    named on the command line (a skipped one then makes the scan incomplete unless
    ``--skip-binary``).
    """

    path: str
    reason: str
    kind: str = "error"
    explicit: bool = False


class StreamError(Exception):
    """A stream could not be read to its end (truncated, corrupt, unsupported).

    ``path`` names the input or archive member whose stream broke; ``level`` is the nesting
    level of the layer that broke (0 = the file itself, +1 per codec or archive layer), so an
    archive knows whether its own stream broke (stop) or only one member's (go on). ``kind``
    is the :class:`InputError` kind it becomes (``"warning"``: nothing was lost).
    """

    def __init__(self, path: str, reason: str, level: int = 0, kind: str = "error") -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
        self.level = level
        self.kind = kind

    def as_error(self) -> InputError:
        """The row that reports this failure."""
        return InputError(self.path, self.reason, self.kind)


def human_bytes(n: float) -> str:
    """``12.3 MB`` style size (decimal units), as used in reasons."""
    if n < 1000:
        return f"{int(n)} B"
    for unit in ("KB", "MB", "GB", "TB"):
        n /= 1000
        if n < 1000 or unit == "TB":
            break
    return f"{n:.1f} {unit}"
