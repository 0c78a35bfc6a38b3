"""Text that leaves the process for a human: control characters made visible, never obeyed.

Log lines, file names and archive member names are chosen by whoever wrote the log. Printed raw,
``ESC[2J`` clears the operator's screen, an OSC 8 sequence plants a hyperlink, a colour sequence
fakes an "ALL CLEAR", a newline in a file name splits a table row and ``U+202E`` reverses what
follows. :func:`escape_control` is the one function every human-facing output (terminal table,
``--quiet`` line, stderr, Markdown, HTML, CSV, the text log) passes such text through; JSON
outputs use :func:`json_text`, which keeps the document lossless and the file terminal-safe.
"""

from __future__ import annotations

import json
import re
from typing import Any

# C0 controls, DEL, C1 controls (0x9b is a one-byte CSI on some terminals), and the Unicode
# format characters that reorder or split what a reader sees (bidi embeddings, overrides and
# isolates, the Arabic letter mark, line and paragraph separators).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")
# What ``json.dumps(..., ensure_ascii=False)`` leaves raw but a terminal may obey.
_JSON_RAW = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_one(m: re.Match[str]) -> str:
    ch = m.group(0)
    named = _NAMED.get(ch)
    if named is not None:
        return named
    code = ord(ch)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def has_control(text: str) -> bool:
    """True when ``text`` holds a character :func:`escape_control` would rewrite."""
    return _CONTROL.search(text) is not None


def escape_control(text: str) -> str:
    """``text`` with every control character written as a visible escape (``\\x1b``, ``\\n``,
    ``\\u202e``); other text, backslashes included, is left as it is."""
    if _CONTROL.search(text) is None:  # the common case: no copy
        return text
    return _CONTROL.sub(_escape_one, text)


def escape_any(value: object) -> str:
    """:func:`escape_control` of ``str(value)`` (``""`` for None)."""
    return "" if value is None else escape_control(str(value))


def _json_escape(m: re.Match[str]) -> str:
    return f"\\u{ord(m.group(0)):04x}"


def json_text(obj: Any, **kwargs: Any) -> str:
    """``json.dumps(obj, ensure_ascii=False, **kwargs)`` with the characters JSON leaves raw but
    a terminal may obey (DEL, C1, bidi controls) written as ``\\uXXXX`` escapes.

    Such characters can only occur inside JSON strings, so the result parses to exactly the same
    value: machine readers lose nothing, and ``cat report.json`` cannot drive the terminal.
    """
    text = json.dumps(obj, ensure_ascii=False, **kwargs)
    if _JSON_RAW.search(text) is None:
        return text
    return _JSON_RAW.sub(_json_escape, text)
