"""What a rule's regex can cost: its longest reach, whether it backtracks catastrophically, and a
linear-time (RE2) form of it where one exists.

The engine confirms a candidate in a window around the prefilter hit, not over the whole line,
so each rule must know how far from the hit a match (with its lookarounds) can reach. A regex
that backtracks exponentially (``(a+)+$``) must not be able to stall a scan: such patterns are
confirmed with RE2 (``google-re2``, linear time) when RE2 accepts them, and refused at load
when they need a backtracking feature (lookaround, back-reference, conditional).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from functools import lru_cache, partial
from typing import Any

if sys.version_info >= (3, 11):
    from re import _constants as _c
    from re import _parser as _p
else:  # pragma: no cover
    import sre_constants as _c
    import sre_parse as _p

#: A match (with its lookarounds) never reaches farther than this from its prefilter hit; a
#: rule whose regex could reach farther is confirmed within this distance.
MAX_REACH = 16 << 10
#: The reach of a rule whose regex is unbounded (``\S+``, ``[^\n]*``) and that declares no
#: ``max_match``.
DEFAULT_UNBOUNDED_REACH = 4096

_UNBOUNDED = 1 << 62
_REPEATS = (_c.MAX_REPEAT, _c.MIN_REPEAT) + (
    (_c.POSSESSIVE_REPEAT,) if hasattr(_c, "POSSESSIVE_REPEAT") else ())
_ASSERTS = (_c.ASSERT, _c.ASSERT_NOT)


def _parse(pattern: str, flags: int = 0) -> Any:
    return _p.parse(pattern, flags)


def _width(items: Any) -> int:
    """Upper bound of the bytes a (sub)pattern can inspect: consumed width plus lookaround."""
    hi = 0
    for op, av in items:
        if op is _c.BRANCH:
            hi += max((_width(a) for a in av[1]), default=0)
        elif op is _c.SUBPATTERN:
            hi += _width(av[-1])
        elif op in _REPEATS:
            w = _width(av[2])
            hi += _UNBOUNDED if (w and av[1] == _c.MAXREPEAT) else w * av[1]
        elif op in _ASSERTS:
            hi += _width(av[1])
        elif op is _c.GROUPREF_EXISTS:
            hi += max(_width(av[1]), _width(av[2]) if av[2] is not None else 0)
        elif op is _c.GROUPREF:
            return _UNBOUNDED  # a back-reference is as long as its group: keep it simple
        elif op in (_c.AT, _c.SUCCESS, _c.FAILURE):
            continue
        elif hasattr(_c, "ATOMIC_GROUP") and op is _c.ATOMIC_GROUP:
            hi += _width(av)
        else:  # one byte: literal, class, category, any
            hi += 1
        if hi >= _UNBOUNDED:
            return _UNBOUNDED
    return hi


def reach(pattern: str, flags: int = 0) -> int | None:
    """How far (bytes) a match of ``pattern`` and its lookarounds can extend; None if unbounded."""
    w = _width(_parse(pattern, flags))
    return None if w >= _UNBOUNDED else w


_CATS: dict[Any, Callable[[int], bool]] = {
    _c.CATEGORY_DIGIT: lambda ch: 48 <= ch <= 57,
    _c.CATEGORY_NOT_DIGIT: lambda ch: not 48 <= ch <= 57,
    _c.CATEGORY_SPACE: lambda ch: ch in b" \t\n\r\x0b\x0c",
    _c.CATEGORY_NOT_SPACE: lambda ch: ch not in b" \t\n\r\x0b\x0c",
    _c.CATEGORY_WORD: lambda ch: ch == 95 or chr(ch).isascii() and chr(ch).isalnum(),
    _c.CATEGORY_NOT_WORD: lambda ch: not (ch == 95 or chr(ch).isascii() and chr(ch).isalnum()),
}


def _fold(ch: int) -> set[int]:
    c = chr(ch)
    return {ch, ord(c.lower()), ord(c.upper())} if c.isascii() else {ch}


def _in_fold(v: int, ch: int) -> bool:
    return ch in _fold(v)


def _in_range(lo: int, hi: int, ch: int) -> bool:
    return any(lo <= x <= hi for x in _fold(ch))


def _char_pred(item: tuple[Any, Any]) -> Callable[[int], bool] | None:
    """Which bytes one single-byte element matches (case-folded, so: a superset), or None."""
    op, av = item
    if op is _c.LITERAL:
        return lambda ch: ch in _fold(av)
    if op is _c.NOT_LITERAL:
        return lambda ch: ch != av
    if op is _c.ANY:
        return lambda ch: True
    if op is _c.CATEGORY:
        return _CATS.get(av)
    if op is _c.IN:
        neg = bool(av) and av[0][0] is _c.NEGATE
        preds: list[Callable[[int], bool]] = []
        for iop, iav in av[1:] if neg else av:
            if iop is _c.LITERAL:
                preds.append(partial(_in_fold, iav))
            elif iop is _c.RANGE:
                preds.append(partial(_in_range, iav[0], iav[1]))
            elif iop is _c.CATEGORY and iav in _CATS:
                preds.append(_CATS[iav])
            else:
                return None
        if neg:  # a negated class: its complement may still share case-folded bytes; widen
            return lambda ch: True
        return lambda ch: any(p(ch) for p in preds)
    return None


def _unbounded_inner(items: Any) -> list[Callable[[int], bool]]:
    """Byte predicates of every unbounded repeat inside ``items`` (``lambda: True`` when the
    repeated element is not a single byte class)."""
    out: list[Callable[[int], bool]] = []
    for op, av in items:
        if op in _REPEATS:
            if av[1] == _c.MAXREPEAT:
                body = list(av[2])
                pred = _char_pred(body[0]) if len(body) == 1 else None
                out.append(pred or (lambda ch: True))
            out.extend(_unbounded_inner(av[2]))
        elif op is _c.BRANCH:
            for a in av[1]:
                out.extend(_unbounded_inner(a))
        elif op is _c.SUBPATTERN:
            out.extend(_unbounded_inner(av[-1]))
        elif op is _c.GROUPREF_EXISTS:
            out.extend(_unbounded_inner(av[1]))
            if av[2] is not None:
                out.extend(_unbounded_inner(av[2]))
        elif hasattr(_c, "ATOMIC_GROUP") and op is _c.ATOMIC_GROUP:
            out.extend(_unbounded_inner(av))
    return out


def _separated(body: Any, inner: list[Callable[[int], bool]]) -> bool:
    """Whether each pass of a repeated ``body`` must consume a byte no inner repeat can match
    (``(?:\\.\\d+)+``: the dot): then the passes cannot trade bytes, and backtracking stays
    polynomial."""
    for item in body:
        op, av = item
        if op is _c.SUBPATTERN and _separated(av[-1], inner):
            return True
        pred = _char_pred(item)
        if pred is None or op is _c.ANY:
            continue
        if not any(pred(ch) and any(q(ch) for q in inner) for ch in range(256)):
            return True
    return False


def _nested(items: Any) -> bool:
    for op, av in items:
        if op in _REPEATS:
            body = av[2]
            if av[1] == _c.MAXREPEAT or av[1] > 16:
                inner = _unbounded_inner(body)
                if inner and not _separated(body, inner):
                    return True
            if _nested(body):
                return True
        elif op is _c.BRANCH:
            if any(_nested(a) for a in av[1]):
                return True
        elif op is _c.SUBPATTERN:
            if _nested(av[-1]):
                return True
        elif op in _ASSERTS:
            if _nested(av[1]):
                return True
        elif op is _c.GROUPREF_EXISTS:
            if _nested(av[1]) or (av[2] is not None and _nested(av[2])):
                return True
    return False


def nested_quantifiers(pattern: str, flags: int = 0) -> bool:
    """Whether a repeat holds another unbounded repeat that can trade bytes with it from pass to
    pass (``(a+)+``, ``(\\w*,?)*``): the shape that makes a backtracking engine take exponential
    time on a near-miss. ``(?:\\.\\d+)+`` is not: every pass must consume a dot."""
    return _nested(_parse(pattern, flags))


_WS = r"\t\n\x0b\x0c\r "


def _re2_source(pattern: str) -> str:
    """``pattern`` with Python's bytes ``\\s`` (which includes \\v) spelled out for RE2."""
    out: list[str] = []
    i, n, in_class = 0, len(pattern), False
    while i < n:
        ch = pattern[i]
        if ch == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            if nxt == "s":
                out.append(_WS if in_class else f"[{_WS}]")
            elif nxt == "S" and not in_class:
                out.append(f"[^{_WS}]")
            else:
                out.append(pattern[i:i + 2])
            i += 2
            continue
        if ch == "[" and not in_class:
            in_class = True
            out.append(ch)
            i += 1
            if i < n and pattern[i] == "^":
                out.append("^")
                i += 1
            if i < n and pattern[i] == "]":  # a leading ']' is a literal
                out.append("]")
                i += 1
            continue
        if ch == "]" and in_class:
            in_class = False
        out.append(ch)
        i += 1
    return "".join(out)


class Re2Pattern:
    """A bytes regex confirmed by RE2 in linear time, with ``re``'s ``finditer``/``span`` API."""

    def __init__(self, compiled: Any, groupindex: dict[str, int], groups: int) -> None:
        self._rx = compiled
        self.groupindex = groupindex
        self.groups = groups

    def finditer(self, text: bytes, pos: int = 0, endpos: int | None = None) -> Any:
        """Like ``re.Pattern.finditer``; RE2 sees the text around ``[pos, endpos)`` as context
        for ``^``, ``$`` and ``\\b``."""
        return self._rx.finditer(text, pos, len(text) if endpos is None else endpos)


@lru_cache(maxsize=1)
def _re2_module() -> Any:
    try:
        import re2
    except Exception:  # not installed (or failed to load): Python's re confirms
        return None
    return re2


def re2_available() -> bool:
    """Whether google-re2 imports here."""
    return _re2_module() is not None


def compile_re2(pattern: str, ignore_case: bool = False) -> Re2Pattern | None:
    """RE2 form of a bytes regex, or None when RE2 is missing or cannot express the pattern."""
    re2 = _re2_module()
    if re2 is None:
        return None
    opts = re2.Options()
    opts.log_errors = False
    opts.encoding = re2.Options.Encoding.LATIN1
    if ignore_case:
        opts.case_sensitive = False
    try:
        src = _re2_source(pattern)
        rx = re2.compile(src.encode("latin-1"), opts)
    except Exception:  # re2.error or an encoding problem: not expressible in RE2
        return None
    ref = re.compile(pattern.encode(), re.IGNORECASE if ignore_case else 0)
    if rx.groups != ref.groups:
        return None
    names = {k if isinstance(k, str) else k.decode(): v for k, v in rx.groupindex.items()}
    return Re2Pattern(rx, names, rx.groups)

