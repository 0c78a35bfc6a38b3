"""Named post-match checks that rules reference from their ``validators`` list.

Each validator takes the sensitive value (bytes, as matched) and returns ``True`` when the value
is well formed. They run only on confirmed regex matches, so clarity beats micro-speed here.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import zlib
from collections import Counter
from collections.abc import Callable
from functools import cache
from importlib import import_module
from types import ModuleType
from typing import Any

Validator = Callable[[bytes], bool]

_B62_UPPER_FIRST = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_B62_LOWER_FIRST = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def shannon_entropy(value: bytes) -> float:
    """Return the Shannon entropy of ``value`` in bits per byte."""
    if not value:
        return 0.0
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


@cache
def _lib(name: str) -> ModuleType:
    # Imported on first use: phonenumbers and python-stdnum cost ~50 ms at start-up, and most
    # scans confirm no PII candidate at all.
    return import_module(name)


def _stdnum_valid(module: str, number: str) -> bool:
    return bool(_lib("stdnum." + module).is_valid(number))


def _compact(value: bytes) -> str:
    """The value without the separators people type (space, dash, dot, slash), upper case."""
    return bytes(c for c in value if c not in b" -./").decode("ascii", "replace").upper()


def _digits(value: bytes) -> str:
    return bytes(d for d in value if 48 <= d <= 57).decode()


def luhn(value: bytes) -> bool:
    """Luhn (mod 10) check (python-stdnum) over the digits of ``value``; separators ignored."""
    digits = _digits(value)
    return len(digits) >= 12 and _stdnum_valid("luhn", digits)


def card_number(value: bytes) -> bool:
    """A payment card: Luhn-valid, a real length, not a run of one digit, uniform grouping."""
    digits = _digits(value)
    if not 12 <= len(digits) <= 19 or len(set(digits)) < 2:
        return False
    seps = {d for d in value if d in b" -"}
    if len(seps) > 1:
        return False
    return _stdnum_valid("luhn", digits)


def card_issuer(value: bytes) -> bool:
    """The length fits the issuer range the number starts with: UATP 1 (15), Mir 2200-2204
    (16-19), Mastercard 2221-2720 and 51-55 (16), Amex 34/37 (15), JCB 3528-3589 (16-19),
    Diners 30/36/38/39 (14-19), Visa 4 (13, 16, 19), Maestro 50/56-69 (12-19), Discover and
    UnionPay 6011/62/64/65 (16-19)."""
    d = _digits(value)
    if len(d) < 12:
        return False
    n, p2, p4 = len(d), int(d[:2]), int(d[:4])
    ranges = (
        (d[0] == "1", (15,)),
        (2200 <= p4 <= 2204, range(16, 20)),
        (2221 <= p4 <= 2720 or 51 <= p2 <= 55, (16,)),
        (p2 in (34, 37), (15,)),
        (3528 <= p4 <= 3589, range(16, 20)),
        (p2 in (30, 36, 38, 39), range(14, 20)),
        (d[0] == "4", (13, 16, 19)),
        (p2 == 50 or 56 <= p2 <= 69, range(12, 20)),
    )
    return any(match and n in lengths for match, lengths in ranges)


def iban(value: bytes) -> bool:
    """IBAN (python-stdnum): known country, that country's BBAN format, ISO 7064 mod-97."""
    return _stdnum_valid("iban", value.decode("ascii", "replace"))


# Well-known numbers printed on sample cards and in documentation, never issued to a person.
_SSN_DUMMIES = frozenset({"123456789", "111111111", "333333333"})


def ssn(value: bytes) -> bool:
    """US SSN (python-stdnum): area not 000/666/9xx, group not 00, serial not 0000, not one of
    the numbers SSA lists as invalid (the Woolworth wallet card and advertising numbers)."""
    digits = _digits(value)
    return len(digits) == 9 and digits not in _SSN_DUMMIES and _stdnum_valid("us.ssn", digits)


def _crc32_base62(data: bytes, alphabet: bytes) -> bytes:
    n = zlib.crc32(data) & 0xFFFFFFFF
    out = bytearray()
    while n:
        n, r = divmod(n, 62)
        out.append(alphabet[r])
    return bytes(reversed(out)).rjust(6, b"0")


def crc32_base62_checksum(value: bytes) -> bool:
    """GitHub/npm-style token: the last 6 characters are base62(CRC32(random part))."""
    body = value.rsplit(b"_", 1)[-1]
    if len(body) < 12:
        return False
    payload, check = body[:-6], body[-6:]
    return check in (
        _crc32_base62(payload, _B62_UPPER_FIRST),
        _crc32_base62(payload, _B62_LOWER_FIRST),
    )


def _b64decode(segment: bytes) -> bytes | None:
    seg = segment.replace(b"-", b"+").replace(b"_", b"/")
    seg += b"=" * (-len(seg) % 4)
    try:
        return base64.b64decode(seg, validate=True)
    except (binascii.Error, ValueError):
        return None


def jwt(value: bytes) -> bool:
    """A JWT: three dot-separated base64url parts, the header a JSON object with ``alg``."""
    parts = value.split(b".")
    if len(parts) != 3:
        return False
    header = _b64decode(parts[0])
    payload = _b64decode(parts[1])
    if header is None or payload is None:
        return False
    try:
        obj = json.loads(header)
        json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(obj, dict) and "alg" in obj


def k8s_service_account_jwt(value: bytes) -> bool:
    """A JWT issued by a Kubernetes cluster to a service account (legacy or projected token)."""
    if not jwt(value):
        return False
    payload = _b64decode(value.split(b".")[1])
    try:
        claims = json.loads(payload or b"")
    except (ValueError, UnicodeDecodeError):
        return False
    if not isinstance(claims, dict):
        return False
    if claims.get("iss") == "kubernetes/serviceaccount" or "kubernetes.io" in claims:
        return True
    sub = claims.get("sub")
    return isinstance(sub, str) and sub.startswith("system:serviceaccount:")


def base64_decodes(value: bytes) -> bool:
    """The value is valid base64 (standard or URL-safe alphabet)."""
    return _b64decode(value.rstrip(b"=")) is not None


def pypi_macaroon(value: bytes) -> bool:
    """A PyPI token: ``pypi-`` then a base64url macaroon that names pypi.org."""
    raw = _b64decode(value.split(b"-", 1)[-1].rstrip(b"="))
    return raw is not None and b"pypi.org" in raw


def basic_auth(value: bytes) -> bool:
    """An HTTP Basic credential: base64 of ``user:password`` with a non-empty password."""
    raw = _b64decode(value.rstrip(b"="))
    if raw is None or b":" not in raw:
        return False
    user, _, password = raw.partition(b":")
    return bool(password) and all(32 <= c < 127 for c in raw)


_ALL_SAME = re.compile(rb"^(.)\1*$", re.S)
# Java/Kotlin default toString(): a.b.ClassName@1b6d3586 (identity hash in hex).
_OBJECT_IDENTITY = re.compile(rb"^[A-Za-z_$][\w$]*(?:\.[\w$]+)*@[0-9a-fA-F]{1,8}$")
_SEQUENTIAL = (b"0123456789", b"abcdefghijklmnopqrstuvwxyz", b"qwertyuiop")

PLACEHOLDER_WORDS = frozenset(
    w.encode()
    for w in """
    null none nil undefined true false redacted masked hidden removed filtered secret password
    passwd changeme change_me changeit example sample dummy test testing placeholder default
    your_password yourpassword your_token your_api_key your-api-key xxx xxxx xxxxx notset unset
    empty n/a na tbd todo fixme insert_here replace_me replaceme foobar foo bar baz admin
    letmein qwerty abc123 password123 secret123 mysecret mypassword s3cr3t hunter2 string
    value token key apikey api_key private none_provided not_set sensitive omitted
    guest required missing invalid incorrect expired provided blank supplied mismatch protected
    sanitized obfuscated scrubbed elided confidential withheld secure encrypted
    """.split()
)


def not_placeholder(value: bytes) -> bool:
    """Reject values that are obviously not secrets: masks, templates, dummies, object dumps."""
    v = value.strip(b"\"'`")
    low = v.lower()
    if len(v) < 4 or low in PLACEHOLDER_WORDS:
        return False
    if _ALL_SAME.match(v) or any(low in seq for seq in _SEQUENTIAL):
        return False
    if v.count(b"*") >= 3 or v.count(b"x") + v.count(b"X") >= max(4, len(v) * 0.6):
        return False
    markers = (b"${", b"{{", b"%(", b"<", b"[redacted", b"[filtered", b"[hidden", b"#{")
    if low.startswith(markers) or low in (b"%s", b"%d", b"%v", b"?", b"{}"):
        return False
    if b"{" in v and (v.endswith(b"}") or b"@" in v):  # Token{...} / object@1a2b dumps
        return False
    if _OBJECT_IDENTITY.match(v):
        return False
    if b"%s" in v or b"{0}" in v or low.startswith((b"$", b"%")):
        return False
    if low.startswith((b"redacted", b"masked", b"hidden", b"example", b"your", b"dummy", b"fake")):
        return False
    return True


# Words that make a value a name or a template rather than a chosen credential ("api_key=
# my_api_key_here", "token=test-token-1"), and shapes of values that are names, not secrets.
_NOT_CREDENTIAL_WORD = re.compile(
    rb"(?i)token|passw|secret|api[_-]?key|credential|example|sample|change|your|dummy|"
    rb"placeholder|redact|masked|default|test|null|none|undefined|invalid|expired|missing")
_NAME_SHAPE = re.compile(
    rb"[A-Za-z]+(?:[_.:-][A-Za-z]+)*"  # words and separators only: prod-db, com.acme.Foo
    rb"|v?\d+(?:[._-]\d+)+(?:[-+._]?[A-Za-z][\w.]*)?"  # versions and dates: 1.2.3-beta
    rb"|[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,12}"  # host and file names: db01.corp.local, a.json
    rb"|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"  # UUID
    rb"|\d[\d:.,/TZ+-]*"  # times and timestamps: 2026-12-01T10:00:00Z
    rb"|[A-Za-z][\w.-]*:\d{1,5}"  # host:port
    rb"|[a-z]{1,12}(?:[-_.:]\d+)+"  # a word and numbers: req-2024-11-01-0001, key-0001
    rb"|[A-Z]{2,}\d*(?:[-_/][A-Z]{2,}\d*)+"  # algorithm and scheme names: HMAC-SHA256
    rb"|[0-9A-HJKMNP-TV-Z]{26}"  # ULID (a sortable id, Crockford base32)
    rb"|[A-Za-z]+/[A-Za-z0-9.+-]+")  # MIME types: application/json


# Shapes that are references or names whatever their entropy: a high-entropy generic rule must
# not report `api_key=../config/token.txt` or `access_token=client_credentials`. UUIDs and
# opaque ids are not here: many providers issue UUID-shaped keys.
_REFERENCE_SHAPE = re.compile(
    rb"[A-Za-z]+(?:[_.:-][A-Za-z]+)*"  # words and separators only
    rb"|v?\d+(?:[._-]\d+)+(?:[-+._]?[A-Za-z][\w.]*)?"  # versions and dates
    rb"|[\w-]+(?:\.[\w-]+)*\.(?:[a-z]{2,6}|[A-Z]{2,6})"  # host and file names
    rb"|[A-Za-z][\w.-]*:\d{1,5}"  # host:port
    rb"|[A-Z]{2,}\d*(?:[-_/][A-Z]{2,}\d*)+")  # algorithm names: PBKDF2-HMAC-SHA256
_SCHEME = re.compile(rb"^[A-Za-z][\w+.-]{1,30}:(?://|[a-z][\w-]*/)")


def not_reference(value: bytes) -> bool:
    """The value is not a path, URL, ``scheme:`` reference, name, version or host/file name
    (the default generic rules' second test after the entropy floor)."""
    v = value.strip(b"\"'`")
    if v.startswith((b"/", b"./", b"../", b"~/")) or b"://" in v or _SCHEME.match(v):
        return False
    return not _REFERENCE_SHAPE.fullmatch(v)


def credential_shape(value: bytes) -> bool:
    """A value someone chose as a credential, even a low-entropy one (``summer2024x``).

    Shannon entropy rejects such values, and a BPE-vocabulary test (Betterleaks' "token
    efficiency") rates them as ordinary text too: a human-chosen password *is* made of common
    pieces. After a credential key name, the better question for a log is whether the value is a
    name, a reference or a template instead: so it must hold letters and also digits or symbols,
    must not be only words and separators, a version, a host or file name or a UUID, must not
    name a kind of credential or a placeholder (``my-api-key``, ``test-token``) and must not be a
    path or URL."""
    v = value.strip(b"\"'`")
    if not 8 <= len(v) <= 512 or not not_placeholder(v):
        return False
    letters = any(c in _ALPHA for c in v)
    others = any(c not in _ALPHA for c in v)
    if not letters or not others or len(set(v)) < 5:
        return False
    if _NOT_CREDENTIAL_WORD.search(v) or _NAME_SHAPE.fullmatch(v):
        return False
    if b"..." in v or "\u2026".encode() in v:  # a shortened value: ab12...ef90
        return False
    # A placeholder word with digits or symbols around it (qwerty123, foobar42, test_2024!).
    core = bytes(c for c in v.lower() if c in _ALPHA)
    if core in PLACEHOLDER_WORDS or any(core in seq for seq in _SEQUENTIAL):
        return False
    return not (b"://" in v or v.count(b"/") >= 2 or v.startswith((b"/", b"./", b"~/")))


_ALPHA = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


VALIDATORS: dict[str, Validator] = {
    "luhn": luhn,
    "card": card_number,
    "card_issuer": card_issuer,
    "iban": iban,
    "ssn": ssn,
    "crc32_base62": crc32_base62_checksum,
    "github_checksum": crc32_base62_checksum,
    "jwt": jwt,
    "k8s_service_account_jwt": k8s_service_account_jwt,
    "base64": base64_decodes,
    "pypi_macaroon": pypi_macaroon,
    "basic_auth": basic_auth,
    "not_placeholder": not_placeholder,
    "credential_shape": credential_shape,
    "not_reference": not_reference,
}
"""Validators a rule file may name. ``rules show`` lists them; unknown names are a RuleError."""


def _parse_phone(text: str, region: str | None) -> Any:
    pn = _lib("phonenumbers")
    try:
        return pn.parse(text, region)
    except pn.NumberParseException:
        return None


def phone(value: bytes) -> bool:
    """A telephone number valid for its region (libphonenumber): ``+CC …`` parsed as E.164, a
    number without a country code as North American."""
    text = value.decode("ascii", "replace")
    digits = _digits(value)
    if len(set(digits)) < 3:
        return False
    num = _parse_phone(text, None if text.startswith("+") else "US")
    return num is not None and bool(_lib("phonenumbers").is_valid_number(num))


# Where a number in national format (no country code) is tried, in order: the regions the
# logs of EU/UK/IN/CN/JP/US services carry. Beside a phone keyword, valid in one is enough.
_DATE_SHAPE = re.compile(rb"(?:19|20)\d\d([-/.])\d\d?\1\d\d?|\d\d?([-/.])\d\d?\2(?:19|20)\d\d")
_IPV4_SHAPE = re.compile(rb"\d{1,3}(?:\.\d{1,3}){3}")
PHONE_REGIONS = ("US", "GB", "DE", "FR", "IN", "CN", "JP", "ES", "IT", "NL", "BR", "CA", "AU")


def phone_national(value: bytes) -> bool:
    """A telephone number in E.164 or national format, valid (libphonenumber) for its country
    code or for one of :data:`PHONE_REGIONS`; runs of one digit and sequences are refused."""
    text = value.decode("ascii", "replace")
    digits = _digits(value)
    if not 7 <= len(digits) <= 15 or len(set(digits)) < 4 or digits in "01234567890123456789":
        return False
    if _DATE_SHAPE.fullmatch(value) or _IPV4_SHAPE.fullmatch(value):
        return False
    pn = _lib("phonenumbers")
    if text.lstrip("(").startswith(("+", "00")):
        num = _parse_phone("+" + text.lstrip("(+").removeprefix("00"), None)
        return num is not None and bool(pn.is_valid_number(num))
    for region in PHONE_REGIONS:
        num = _parse_phone(text, region)
        if num is not None and pn.is_valid_number(num):
            return True
    return False


VALIDATORS["phone"] = phone
VALIDATORS["phone_national"] = phone_national

_NINO_PREFIX_BANNED = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})
_NINO = re.compile(r"[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\d{6}[A-D]")


def uk_nino(value: bytes) -> bool:
    """UK National Insurance number (HMRC rules; python-stdnum has none): two prefix letters
    (not D, F, I, Q, U, V; second not O; not BG, GB, KN, NK, NT, TN, ZZ), six digits, suffix
    A–D. Administrative (TN, temporary) prefixes are refused."""
    s = bytes(c for c in value if c not in b" -").decode("ascii", "replace").upper()
    return bool(_NINO.fullmatch(s)) and s[:2] not in _NINO_PREFIX_BANNED


# National identifiers checked by python-stdnum: check digits, structure, dates of birth.
_STDNUM_IDS = {
    "ca_sin": "ca.sin", "in_aadhaar": "in_.aadhaar", "in_pan": "in_.pan", "br_cpf": "br.cpf",
    "br_cnpj": "br.cnpj", "es_dni": "es.dni", "es_nie": "es.nie",
    "it_codicefiscale": "it.codicefiscale", "fr_nir": "fr.nir", "de_idnr": "de.idnr",
    "au_tfn": "au.tfn",
}


def _stdnum_validator(module: str) -> Validator:
    def check(value: bytes) -> bool:
        text = _compact(value)
        digits = _digits(value)
        # Sample values: one digit repeated passes several of these checksums (000.000.000-00).
        if len(digits) >= 6 and len(set(digits)) < 3:
            return False
        return _stdnum_valid(module, text)

    check.__name__ = module.replace(".", "_").rstrip("_")
    check.__doc__ = f"Valid per python-stdnum's ``stdnum.{module}``."
    return check


def es_dni_nie(value: bytes) -> bool:
    """Spanish DNI (8 digits + letter) or NIE (X/Y/Z + 7 digits + letter), mod-23 letter."""
    text = _compact(value)
    return _stdnum_valid("es.dni", text) or _stdnum_valid("es.nie", text)


VALIDATORS["uk_nino"] = uk_nino
VALIDATORS["es_dni_nie"] = es_dni_nie
VALIDATORS.update({name: _stdnum_validator(mod) for name, mod in _STDNUM_IDS.items()})
