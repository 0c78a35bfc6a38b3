"""The one scrubber every message passes through before it leaves the process.

Error text comes from places logaudit does not control — storage libraries quote URLs, keys and
request parameters, OS errors quote file names — and file names themselves are chosen by whoever
wrote the logs. :func:`scrub_message` is applied to every stderr line, every record of the
``--log-file`` log, and the run record stored in reports (JSON, SARIF, Parquet metadata, HTML,
Markdown). It replaces, in this order:

1. the credentials in play, registered by the scan (:func:`register`): storage-option values,
   the user and password of every ``proto://user:password@…`` input, the values of the
   credential environment variables — also in their percent-encoded form;
2. any remaining URL user-info (``://user:password@`` → ``://***@``) and signed-URL parameters
   (``X-Amz-Signature``, ``X-Amz-Credential``, ``X-Amz-Security-Token``, Azure SAS ``sig=`` …);
3. whatever the secret rules find in the text, masked as a finding's value is.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

if TYPE_CHECKING:
    from logaudit.rules import Rule

_USERINFO = re.compile(r"(?<=://)[^/@\s?#]+@")
# ``proto://user:password@`` with a raw ``/`` in the password (AWS secret keys hold them):
# a ``:`` before any ``/`` after ``://``, then anything up to the last ``@`` of the word.
_USERINFO_LOOSE = re.compile(r"(?<=://)[^/@\s:?#]+:[^\s]*@")
_URL_CREDS = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://([^/@\s:?#]+:[^\s]*|[^/@\s?#]+)@")
# Signed-URL query parameters (S3 presigned, GCS signed, Azure SAS) and connection-string
# credentials: only after ``?``, ``&`` or ``;``, so prose such as "expected KEY=VALUE" stays.
_SIGNED = re.compile(
    r"(?i)(?<=[?&;])((?:x-amz-(?:signature|credential|security-token)|x-goog-(?:signature|"
    r"credential)|signature|sig|skoid|sktid|sks|skv|skn|token|key|access_token|"
    r"awsaccesskeyid|accountkey|sharedaccesssignature|sharedaccesskey)=)[^&;\s'\"<>]+")

#: Environment variables whose values are credentials: never echoed back.
SECRET_ENV = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID",
              "AZURE_STORAGE_KEY", "AZURE_STORAGE_ACCOUNT_KEY", "AZURE_STORAGE_SAS_TOKEN",
              "AZURE_STORAGE_CONNECTION_STRING", "AZURE_CLIENT_SECRET",
              "GOOGLE_APPLICATION_CREDENTIALS_JSON")

#: Storage options that are never credentials: shown as they are, so errors stay useful.
PUBLIC_OPTIONS = frozenset({"endpoint_url", "region_name", "region", "profile", "project",
                            "account_name", "anon", "use_ssl", "requester_pays",
                            "default_block_size", "version_aware"})

_MIN_SECRET = 4  # shorter values would mask ordinary words

_lock = threading.Lock()
_values: set[str] = set()
_rules: list[Rule] | None = None
_names: dict[str, str] = {}  # path -> name_text(path), cleared when the credentials change
# (rule, its lower-case keywords as bytes) for the rules in ``_rules``; rebuilt when they change.
_keyed: tuple[list[Rule] | None, list[tuple[Rule, tuple[bytes, ...]]]] = (None, [])


def option_secrets(options: Any) -> list[str]:
    """Every string value of a (possibly nested, possibly frozen) options mapping that is not
    a known public option."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, Mapping):
            for k, v in node.items():
                if k not in PUBLIC_OPTIONS:
                    walk(v)
        elif isinstance(node, tuple) and node and all(
                isinstance(x, tuple) and len(x) == 2 for x in node):
            walk(dict(node))  # frozen options (sources.remote.freeze)
        elif isinstance(node, str) and len(node) >= _MIN_SECRET:
            out.append(node)

    walk(options)
    return out


def url_secrets(urls: Iterable[str]) -> list[str]:
    """The user and password of every ``proto://user:password@host`` URL (raw and decoded)."""
    out: list[str] = []
    for url in urls:
        for m in _URL_CREDS.finditer(url):
            info = m.group(1)
            for part in (info, *info.split(":", 1)):
                out += [part, unquote(part)]
                # A raw "/" in a password makes URL parsers cut it (the bucket becomes
                # "KEY:first-piece"): each piece must be masked on its own too.
                out += unquote(part).split("/")
    return [v for v in out if len(v) >= _MIN_SECRET]


def register(paths: Sequence[str] = (), options: Any = None,
             rules: Sequence[Rule] | None = None) -> None:
    """Make the credentials of a scan known: URL user-info in ``paths``, storage ``options``
    values; ``rules``: the secret rules to run over messages (default: the built-in ones)."""
    global _rules
    found = url_secrets(paths) + option_secrets(options or {})
    with _lock:
        _names.clear()
        _values.update(found)
        if rules is not None:
            _rules = [r for r in rules if r.category.value == "secret" and not r.detector]


def forget() -> None:
    """Drop registered credentials (tests; a long-lived process between unrelated scans)."""
    global _rules
    with _lock:
        _names.clear()
        _values.clear()
        _rules = None


def _known_values(extra: Iterable[str] = ()) -> list[str]:
    vals = set(_values) | {v for v in extra if len(v) >= _MIN_SECRET}
    vals.update(v for name in SECRET_ENV if len(v := os.environ.get(name, "")) >= _MIN_SECRET)
    forms = set(vals)
    for v in vals:
        forms.add(quote(v, safe=""))
        forms.add(quote(v, safe="/"))
    return sorted(forms, key=len, reverse=True)


def _secret_rules() -> list[Rule]:
    global _rules
    if _rules is None:
        from logaudit.errors import LogauditError
        from logaudit.rules import load_builtin_rules

        try:
            loaded = load_builtin_rules()
        except LogauditError:
            loaded = []
        with _lock:
            _rules = [r for r in loaded if r.category.value == "secret" and not r.detector]
    return _rules


def to_bytes(text: str) -> bytes:
    """The bytes ``text`` stands for: a name read from the file system or a tar header keeps
    its undecodable bytes as lone surrogates (``surrogateescape``), which come back here."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that stands for no byte (JSON "\ud800")
        return text.encode("utf-8", "surrogatepass")


def printable(text: str) -> str:
    """``text`` encodable as UTF-8: each byte that is not valid UTF-8 written as ``\xff``.

    File and archive-member names are bytes on Linux; a name that is not UTF-8 reaches logaudit
    with lone surrogates, which no output can encode (``UnicodeEncodeError``). Valid text is
    returned as it is.
    """
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return to_bytes(text).decode("utf-8", "backslashreplace")


_LINE_BREAKS = bytes.maketrans(b"\n\r", b"  ")
_NAME_SEPARATORS = bytes.maketrans(b"\n\r-", b"   ")


def name_variants(raw: bytes) -> list[bytes]:
    """The texts a name (or a message quoting one) is matched in, all as long as ``raw`` so
    offsets carry over: ``raw`` with line breaks as spaces (a rule sees one line), and, when
    it has a ``-``, also with each ``-`` as a space. Token rules refuse a value glued to a word
    (``(?<![\\w-])ghp_…``), yet ``dump-ghp_….log`` names one."""
    one_line = raw.translate(_LINE_BREAKS)
    if b"-" not in raw:
        return [one_line]
    return [one_line, raw.translate(_NAME_SEPARATORS)]


def _keyed_rules() -> list[tuple[Rule, tuple[bytes, ...]]]:
    global _keyed
    rules = _secret_rules()
    if _keyed[0] is not rules:
        _keyed = (rules, [(r, tuple(k.lower().encode() for k in r.keywords)) for r in rules])
    return _keyed[1]


_engine_cache: list[tuple[list[Rule], Any]] = []


def _engine() -> Any:
    """The secret rules compiled into an engine (its prefilter picks the few rules worth
    confirming: trying every rule's regex cost about 1 ms per file name); None when it cannot
    be built, and the rules are then tried one by one."""
    rules = _secret_rules()
    if _engine_cache and _engine_cache[0][0] is rules:
        return _engine_cache[0][1]
    from logaudit.engine.scanner import Engine

    try:
        eng: Any = Engine(rules) if rules else None
    except Exception:  # noqa: BLE001 - masking must never fail: fall back to the plain loop
        eng = None
    _engine_cache[:] = [(rules, eng)]
    return eng


def _secret_hits(raw: bytes) -> list[tuple[Rule, int, int]]:
    """``(rule, value start, value end)`` of every secret-rule match in ``raw`` (a name or a
    message), in any of its :func:`name_variants`."""
    out: list[tuple[Rule, int, int]] = []
    eng = _engine()
    if eng is not None:
        from logaudit.sources.chunking import Chunk

        for variant in name_variants(raw):
            for lh in eng.scan_line_rules(Chunk(variant, 1, 0, len(variant), 0))[0]:
                out.extend((h.rule, h.secret_start, h.secret_end) for h in lh.hits)
        return out
    low = raw.lower()
    for rule, keywords in _keyed_rules():
        if keywords and not any(k in low for k in keywords):
            continue
        out.extend((rule, m.secret_start, m.secret_end)
                   for variant in name_variants(raw) for m in rule.find(variant))
    return out


def mask_secrets(text: str, keep_bytes: bool = False) -> str:
    """``text`` with every value a secret rule confirms masked as a finding's value is, and
    bytes that are not UTF-8 written as ``\xff`` (see :func:`printable`) — or, with
    ``keep_bytes``, kept as the lone surrogates they came as (a name that must still name its
    file, as in the ``--state`` file)."""
    from logaudit.findings import mask_value
    from logaudit.rules import Category

    raw = to_bytes(text)
    spans: list[tuple[int, int, bytes]] = []
    for rule, start, end in _secret_hits(raw):
        if end <= start:
            continue
        value = raw[start:end]
        prefix = b""
        for k in rule.keywords:
            kb = k.lower().encode()
            if len(kb) <= 12 and value.lower().startswith(kb):
                prefix = value[:len(kb)]
                break
        spans.append((start, end, mask_value(value, Category.SECRET, prefix).encode()))
    if not spans:
        return text if keep_bytes else printable(text)
    out = bytearray()
    pos = 0
    for s, e, masked in sorted(spans):
        if s < pos:
            continue  # overlapping matches of two rules: the first one masks
        out += raw[pos:s] + masked
        pos = e
    out += raw[pos:]
    return out.decode("utf-8", "surrogateescape" if keep_bytes else "backslashreplace")


def strip_userinfo(url: str) -> str:
    """``url`` without its ``user:password@`` part (also with a raw ``/`` in the password)."""
    return _USERINFO.sub("", _USERINFO_LOOSE.sub("", url))


def scrub_url(url: str) -> str:
    """``url`` with URL user-info and signed-URL parameter values replaced by ``***``."""
    return _SIGNED.sub(r"\1***", _USERINFO.sub("***@", _USERINFO_LOOSE.sub("***@", url)))


def scrub_message(text: str, extra: Iterable[str] = ()) -> str:
    """``text`` safe to print or log: registered credentials (and ``extra`` values),
    URL user-info, signed-URL parameters and anything a secret rule finds replaced."""
    for v in _known_values(extra):
        if v in text:
            text = text.replace(v, "***")
    return mask_secrets(scrub_url(text))


def name_text(path: str) -> str:
    """A file or archive-member path as every output shows it: secrets in the name masked (as
    :func:`scrub_message` masks them), bytes that are not UTF-8 written as ``\xff``. Control
    characters are left to each output's own escaping (JSON keeps them exact)."""
    shown = _names.get(path)
    if shown is None:
        shown = scrub_message(path)
        if len(_names) >= 65536:
            _names.clear()
        _names[path] = shown
    return shown


def scrub_data(value: Any) -> Any:
    """:func:`scrub_message` applied to every string inside nested dicts and lists (a run
    record); other values are returned as they are."""
    if isinstance(value, str):
        return scrub_message(value)
    if isinstance(value, Mapping):
        return {k: scrub_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub_data(v) for v in value]
    return value
