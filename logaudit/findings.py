"""The Finding record: masking, keyed fingerprints and log-timestamp parsing.

This module is the only place that turns raw matched bytes into what users see. Without
``show_secrets`` no raw value leaves it: ``match`` and ``context`` are masked, and the
fingerprint is an HMAC keyed with a secret the user holds, so a short value (a 9-digit SSN)
cannot be brute-forced from a report.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from logaudit.engine.model import Hit, LineHits
from logaudit.errors import ConfigError
from logaudit.masking import mask_digits, mask_text
from logaudit.rules import Category

CONTEXT_CHARS = 240

COLUMNS = (
    "run_id", "path", "line", "end_line", "column", "rule_id", "category", "severity",
    "match", "fingerprint", "timestamp", "context", "details",
)


@dataclass(frozen=True, slots=True)
class Finding:
    """One finding, as every report writer emits it (see DESIGN.md, "The finding")."""

    run_id: str
    path: str
    line: int
    end_line: int
    column: int
    rule_id: str
    category: str
    severity: str
    match: str
    fingerprint: str
    timestamp: datetime | None
    context: str
    details: str | None

    def as_dict(self) -> dict[str, Any]:
        """The finding as a plain dict in column order."""
        return {c: getattr(self, c) for c in COLUMNS}


# ---------------------------------------------------------------- fingerprint key

def default_key_path() -> Path:
    """Where the fingerprint key lives unless ``LOGAUDIT_KEY``/``LOGAUDIT_KEY_FILE`` say."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "logaudit" / "fingerprint.key"


def load_key() -> bytes:
    """The HMAC key: ``$LOGAUDIT_KEY``, else the key file (created with mode 0600 on first use)."""
    env = os.environ.get("LOGAUDIT_KEY")
    if env:
        return env.encode()
    path = Path(os.environ.get("LOGAUDIT_KEY_FILE") or default_key_path())
    try:
        data = path.read_bytes().strip()
        if data:
            return data
    except FileNotFoundError:
        pass
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the fingerprint key ({e.strerror}); "
                          "set LOGAUDIT_KEY or fix the file's permissions") from None
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another run created it first
        return path.read_bytes().strip()
    except OSError as e:
        raise ConfigError(f"{path}: cannot create the fingerprint key ({e.strerror}); "
                          "set LOGAUDIT_KEY or LOGAUDIT_KEY_FILE") from None
    key = secrets.token_hex(32).encode()
    with os.fdopen(fd, "wb") as f:
        f.write(key + b"\n")
    return key


def fingerprint(key: bytes, rule_id: str, value: bytes) -> str:
    """HMAC-SHA256 of rule id and raw value; line numbers deliberately excluded (rotation)."""
    return hmac.new(key, rule_id.encode() + b"\x00" + value, hashlib.sha256).hexdigest()


# ---------------------------------------------------------------- masking

_EMAIL = re.compile(rb"^([^@\s]*)@(.+)$")
_IPV4 = re.compile(rb"^(\d{1,3})\.(\d{1,3})\.\d{1,3}\.\d{1,3}$")
_IBAN_LIKE = re.compile(rb"^[A-Z]{2}\d{2}[A-Z0-9 ]{10,}$")


def _first_char(value: bytes) -> bytes:
    """The first character of ``value``: a whole UTF-8 sequence (IDN e-mail local parts), else
    one byte."""
    n = 1
    if value and value[0] >= 0xC0:
        n = 2 if value[0] < 0xE0 else 3 if value[0] < 0xF0 else 4
        try:
            value[:n].decode("utf-8")
        except UnicodeDecodeError:
            n = 1
    return value[:n]


def mask_value(value: bytes, category: Category, prefix: bytes = b"") -> str:
    """Mask a sensitive value: at most a known prefix and the last 4 characters survive."""
    digits = sum(48 <= c <= 57 for c in value)
    if category is Category.SECRET:
        tail = value[-4:] if len(value) - len(prefix) >= 16 else b""
        return (prefix + b"*" * 8 + tail).decode("utf-8", "replace")
    m = _EMAIL.match(value)
    if m:
        local = m.group(1)
        return (_first_char(local) + b"***@" + m.group(2)).decode("utf-8", "replace")
    m = _IPV4.match(value)
    if m:
        return (m.group(1) + b"." + m.group(2) + b".*.*").decode()
    if _IBAN_LIKE.match(value):
        compact = value.replace(b" ", b"")
        return (compact[:2] + b"** **** " + compact[-4:]).decode("ascii", "replace")
    if digits >= 12 and digits == len(value.replace(b" ", b"").replace(b"-", b"")):
        return "**** **** **** " + bytes(c for c in value if 48 <= c <= 57)[-4:].decode()
    if digits == 9 and len(value) in (9, 11):
        return "***-**-" + bytes(c for c in value if 48 <= c <= 57)[-4:].decode()
    if digits >= 7 and digits >= len(value) * 0.6:
        return mask_digits(value, 2).decode("utf-8", "replace")
    if len(value) <= 4:
        return "****"
    return (_first_char(value) + b"*" * 6 + (value[-2:] if len(value) >= 12 else b"")).decode(
        "utf-8", "replace")


def _known_prefix(hit: Hit, value: bytes) -> bytes:
    low = value.lower()
    for kw in hit.rule.keywords:
        k = kw.lower().encode()
        if len(k) <= 12 and low.startswith(k):
            return value[: len(k)]
    return b""


def mask_hit(hit: Hit, value: bytes) -> str:
    """The masked form of one hit's value, as ``match`` and ``context`` show it."""
    mode = hit.rule.mask
    if hit.rule.category in (Category.SECRET, Category.PII) or mode == "value":
        return mask_value(value, hit.rule.category, _known_prefix(hit, value))
    if mode == "message":
        return mask_text(value).decode("utf-8", "replace")
    return value.decode("utf-8", "replace")  # "none": not sensitive


def _cut_context(text: str, focus: int) -> str:
    if len(text) <= CONTEXT_CHARS:
        return text
    start = max(0, min(focus - CONTEXT_CHARS // 3, len(text) - CONTEXT_CHARS))
    piece = text[start : start + CONTEXT_CHARS]
    return ("…" if start else "") + piece + ("…" if start + CONTEXT_CHARS < len(text) else "")


# ---------------------------------------------------------------- timestamps

_MONTHS = {m: i for i, m in enumerate(
    "jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1)}
_TS_ISO = re.compile(
    rb"(?<!\d)(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?"
    rb"\s?(Z|[+-]\d{2}:?\d{2}|UTC)?"
)
_TS_CLF = re.compile(
    rb"\[(\d{2})/([A-Za-z]{3})/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-]\d{4})\]"
)
_TS_CTIME = re.compile(
    rb"\[?(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ([A-Za-z]{3}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2})"
    rb"(?:\.\d+)? (\d{4})"
)
_TS_SYSLOG = re.compile(
    rb"^(?:<\d{1,3}>)?([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2})\b"
)
_TS_HDFS = re.compile(rb"^(\d{2})(\d{2})(\d{2}) (\d{2})(\d{2})(\d{2})\b")
_TS_ANDROID = re.compile(rb"^(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})\.(\d{3})\b")
_TS_EPOCH = re.compile(
    rb"\"(?:ts|time|timestamp|@timestamp|t|epoch|created|logged_at)\"\s*:\s*(\d{10}(?:\d{3})?)"
    rb"(?:\.\d+)?[,}\s]"
)


def _tz(spec: bytes | None) -> timezone:
    if not spec or spec in (b"Z", b"UTC"):
        return timezone.utc
    s = spec.replace(b":", b"")
    sign = -1 if s[:1] == b"-" else 1
    return timezone(sign * timedelta(hours=int(s[1:3]), minutes=int(s[3:5])))


def _yearless(month: int, day: int, h: int, mi: int, s: int, us: int, now: datetime) -> datetime:
    """A time without a year (syslog, Android): this year, or last year if that is in the future."""
    dt = datetime(now.year, month, day, h, mi, s, us, tzinfo=timezone.utc)
    if dt > now + timedelta(days=2):
        dt = dt.replace(year=now.year - 1)
    return dt


def parse_timestamp(line: bytes, now: datetime | None = None) -> datetime | None:
    """The log event's own time, in UTC, if ``line`` starts with or holds a known format.

    Formats: ISO 8601 / RFC 5424, Apache/NCSA common log, ctime-style (Apache error log),
    RFC 3164 syslog, ``YYMMDD HHMMSS`` (HDFS), ``MM-DD HH:MM:SS.mmm`` (Android), and epoch
    seconds or milliseconds in JSON fields. A time without a year takes the current year.
    """
    head = line[:400]
    now = now or datetime.now(timezone.utc)
    try:
        m = _TS_HDFS.match(head)
        if m:
            y, mo, d, h, mi, s = (int(x) for x in m.groups())
            return datetime(2000 + y, mo, d, h, mi, s, tzinfo=timezone.utc)
        m = _TS_ANDROID.match(head)
        if m:
            mo, d, h, mi, s, ms = (int(x) for x in m.groups())
            return _yearless(mo, d, h, mi, s, ms * 1000, now)
        m = _TS_SYSLOG.match(head)
        if m and m.group(1).lower().decode() in _MONTHS:
            mo = _MONTHS[m.group(1).lower().decode()]
            return _yearless(mo, int(m.group(2)), int(m.group(3)), int(m.group(4)),
                             int(m.group(5)), 0, now)
        m = _TS_ISO.search(head)
        if m:
            y, mo, d, h, mi, s = (int(x) for x in m.groups()[:6])
            frac = m.group(7) or b"0"
            us = int((frac + b"000000")[:6])
            dt = datetime(y, mo, d, h, mi, s, us, tzinfo=_tz(m.group(8)))
            return dt.astimezone(timezone.utc)
        m = _TS_CLF.search(head)
        if m and m.group(2).lower().decode() in _MONTHS:
            dt = datetime(int(m.group(3)), _MONTHS[m.group(2).lower().decode()], int(m.group(1)),
                          int(m.group(4)), int(m.group(5)), int(m.group(6)),
                          tzinfo=_tz(m.group(7)))
            return dt.astimezone(timezone.utc)
        m = _TS_CTIME.search(head)
        if m and m.group(1).lower().decode() in _MONTHS:
            return datetime(int(m.group(6)), _MONTHS[m.group(1).lower().decode()],
                            int(m.group(2)), int(m.group(3)), int(m.group(4)), int(m.group(5)),
                            tzinfo=timezone.utc)
        m = _TS_EPOCH.search(line[:2000])
        if m:
            n = int(m.group(1))
            secs = n / 1000 if len(m.group(1)) == 13 else n
            return datetime.fromtimestamp(secs, tz=timezone.utc)
    except (ValueError, OverflowError, OSError):
        return None
    return None


# ---------------------------------------------------------------- building findings

def _char_col(text: bytes, byte_pos: int) -> int:
    return len(text[:byte_pos].decode("utf-8", "replace"))


def _char_cols(text: bytes, positions: list[int]) -> dict[int, int]:
    """``_char_col`` for many positions of one line, in time linear in the line."""
    if text.isascii():
        return {p: p for p in positions}
    out: dict[int, int] = {}
    prev = col = 0
    for p in sorted(set(positions)):
        if p < len(text) and 0x80 <= text[p] < 0xC0:  # inside a character: count exactly
            out[p] = _char_col(text, p)
            continue
        # ``prev`` and ``p`` both start a character: the pieces decode as the whole does
        col += len(text[prev:p].decode("utf-8", "replace"))
        out[p] = col
        prev = p
    return out


def _identity(h: Hit, value: bytes, whole: bytes) -> bytes:
    """What the fingerprint covers: the sensitive value, or for a block without one (a stack
    trace) its header plus what the block revealed, so two different traces differ."""
    if h.secret_end > h.secret_start:
        return value
    if h.details:
        shape = {k: v for k, v in h.details.items() if k not in ("frames", "frame_count")}
        return whole + b"\x00" + json.dumps(shape, sort_keys=True, default=str).encode()
    return whole


def build_findings(
    lh: LineHits, path: str, run_id: str, key: bytes, show_secrets: bool = False
) -> list[Finding]:
    """Turn the hits of one line into findings; every hit's value is masked in the context."""
    text = lh.text
    masked_pieces = [
        (h.secret_start, h.secret_end, mask_hit(h, text[h.secret_start:h.secret_end]))
        for h in lh.hits if h.secret_end > h.secret_start
    ]
    if show_secrets:
        context = text.decode("utf-8", "replace")
    else:
        parts: list[str] = []
        pos = 0
        for s, e, masked in sorted(masked_pieces):
            if s < pos:  # overlapping values (two categories): extend the masked region
                continue
            parts.append(text[pos:s].decode("utf-8", "replace"))
            parts.append(masked)
            pos = e
        parts.append(text[pos:].decode("utf-8", "replace"))
        context = "".join(parts)
    ts = parse_timestamp(text)
    cols = _char_cols(text, [h.start for h in lh.hits])
    out: list[Finding] = []
    for h in lh.hits:
        value = text[h.secret_start:h.secret_end]
        whole = text[h.start:h.end]
        if show_secrets or h.secret_end <= h.secret_start:
            shown = whole.decode("utf-8", "replace")
        elif h.rule.category in (Category.SECRET, Category.PII):
            shown = mask_hit(h, value)
        else:  # an error/disclosure finding: show it, with the sensitive part masked
            shown = (text[h.start:h.secret_start].decode("utf-8", "replace")
                     + mask_hit(h, value) + text[h.secret_end:h.end].decode("utf-8", "replace"))
            for s, e, masked in masked_pieces:  # other values inside this match
                raw = text[s:e].decode("utf-8", "replace")
                if h.start <= s and e <= h.end and raw in shown:
                    shown = shown.replace(raw, masked)
        if len(shown) > CONTEXT_CHARS:
            shown = shown[:CONTEXT_CHARS] + "…"
        focus = cols[h.start]
        if not show_secrets:
            focus = min(focus, len(context))  # approximate after masking
        out.append(Finding(
            run_id=run_id, path=path, line=h.line, end_line=h.end_line,
            column=lh.col_base + cols[h.start] + 1,
            rule_id=h.rule.id, category=h.rule.category.value, severity=h.rule.severity.value,
            match=shown,
            fingerprint=fingerprint(key, h.rule.id, _identity(h, value, whole)),
            timestamp=ts,
            context=_cut_context(context, focus),
            details=json.dumps(h.details, sort_keys=True) if h.details else None,
        ))
    return out
