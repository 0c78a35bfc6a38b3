"""The trace families, in one list. Adding a runtime: one module with its block class, start
functions and ``FAMILY``, and one line here."""

from __future__ import annotations

from logaudit.engine.tracebacks import (
    atframes,
    dart,
    elixir,
    go,
    php,
    python,
    ruby,
    rust,
    swift,
)
from logaudit.engine.tracebacks.base import Back, Block, Family, StartFn

FAMILIES: tuple[Family, ...] = (
    python.FAMILY,
    rust.FAMILY,
    atframes.FAMILY,
    go.FAMILY,
    php.FAMILY,
    ruby.FAMILY,
    elixir.FAMILY,
    dart.FAMILY,
    swift.FAMILY,
)

#: Start functions of every family, in the order they are tried on a marker line (a line can
#: hold several markers: ``Exception in thread … fatal error: x`` is a JVM trace, not Go's).
STARTERS: tuple[StartFn, ...] = tuple(
    fn for _order, fn in sorted((s for f in FAMILIES for s in f.starters), key=lambda s: s[0]))

#: Start markers, case-insensitive literals for the engine's prefilter.
KEYWORDS: tuple[str, ...] = tuple(dict.fromkeys(k for f in FAMILIES for k in f.keywords))

#: detector name (a rule's ``detector``) → the languages it reports.
DETECTOR_LANGS: dict[str, tuple[str, ...]] = {
    name: langs for f in FAMILIES for name, langs in f.detectors.items()}


def first_block(line: bytes, line_no: int, back: Back) -> Block | None:
    """The block the first family that recognises ``line`` opens there, if any."""
    for start in STARTERS:
        blk = start(line, line_no, back)
        if blk is not None:
            return blk
    return None
