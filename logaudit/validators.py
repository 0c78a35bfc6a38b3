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

Validator = Callable[[bytes], bool]

_B62_UPPER_FIRST = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_B62_LOWER_FIRST = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def shannon_entropy(value: bytes) -> float:
    """Return the Shannon entropy of ``value`` in bits per byte."""
    if not value:
        return 0.0
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


def luhn(value: bytes) -> bool:
    """Luhn (mod 10) check over the digits of ``value``; separators are ignored."""
    digits = [d - 48 for d in value if 48 <= d <= 57]
    if len(digits) < 12:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def card_number(value: bytes) -> bool:
    """A payment card: Luhn-valid, a real length, not a run of one digit, uniform grouping."""
    digits = bytes(d for d in value if 48 <= d <= 57)
    if not 13 <= len(digits) <= 19 or len(set(digits)) < 2:
        return False
    seps = {d for d in value if d in b" -"}
    if len(seps) > 1:
        return False
    return luhn(digits)


# ISO 13616 lengths per country (the registry's published list).
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18,
    "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24,
    "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
    "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip


def iban(value: bytes) -> bool:
    """IBAN: known country, that country's length, and ISO 7064 mod-97 == 1."""
    s = bytes(c for c in value if c not in b" -").decode("ascii", "replace").upper()
    if IBAN_LENGTHS.get(s[:2]) != len(s) or not s.isalnum():
        return False
    rearranged = s[4:] + s[:4]
    try:
        number = int("".join(str(int(ch, 36)) for ch in rearranged))
    except ValueError:
        return False
    return number % 97 == 1


def ssn(value: bytes) -> bool:
    """US SSN structure: area not 000/666/9xx, group not 00, serial not 0000, not a known dummy."""
    digits = bytes(d for d in value if 48 <= d <= 57).decode()
    if len(digits) != 9:
        return False
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    if area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000":
        return False
    # Advertising and well-known invalid numbers (e.g. the Woolworth wallet card).
    return digits not in {"078051120", "219099999", "123456789"}


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
_OBJECT_IDENTITY = re.compile(rb"^[A-Za-z_$][\w$]*(?:\.[\w$]+)+@[0-9a-fA-F]{1,8}$")
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
    rb"|[A-Za-z]+/[A-Za-z0-9.+-]+")  # MIME types: application/json


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
    return not (b"://" in v or v.count(b"/") >= 2 or v.startswith((b"/", b"./", b"~/")))


_ALPHA = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


VALIDATORS: dict[str, Validator] = {
    "luhn": luhn,
    "card": card_number,
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
}
"""Validators a rule file may name. ``rules show`` lists them; unknown names are a RuleError."""


def phone(value: bytes) -> bool:
    """A telephone number: 10 to 15 digits, not one digit repeated, E.164 country code not 0."""
    digits = bytes(d for d in value if 48 <= d <= 57)
    if not 10 <= len(digits) <= 15 or len(set(digits)) < 3:
        return False
    if value.startswith(b"+"):
        return True
    return len(digits) == 10 and digits[0] in b"23456789" and digits[3] in b"23456789"


VALIDATORS["phone"] = phone
