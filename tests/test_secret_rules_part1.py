"""Secret rules part 1 (cloud, code hosting/CI/registries, keys/URLs/headers, generic packs).

Checked on an engine built from these packs alone, so a finding cannot be hidden by another
pack's overlapping rule: examples are found, near misses and ordinary log text are not.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logaudit.engine.prefilter import hyperscan_available
from logaudit.engine.scanner import Engine, all_hits, scan_bytes
from logaudit.rules import Rule, builtin_patterns_dir, load_rule_file
from logaudit.validators import (
    VALIDATORS,
    crc32_base62_checksum,
    k8s_service_account_jwt,
    not_placeholder,
)

PACKS = ("cloud", "vcs_ci", "keys", "generic")
RULES: list[Rule] = [
    r for p in PACKS for r in load_rule_file(builtin_patterns_dir() / "secrets" / f"{p}.toml")
]
DEFAULT_RULES = [r for r in RULES if r.enabled]
BACKENDS = ["pyahocorasick"] + (["hyperscan"] if hyperscan_available() else [])
ASSETS = Path(__file__).parent / "assets" / "secrets_part1"
_ENGINES: dict[tuple[str, bool], Engine] = {}


def _engine(backend: str, strict: bool = True) -> Engine:
    key = (backend, strict)
    if key not in _ENGINES:
        _ENGINES[key] = Engine(RULES if strict else DEFAULT_RULES, backend=backend)
    return _ENGINES[key]


def _found(backend: str, text: str, strict: bool = True) -> list[str]:
    data = text.encode() + b"\n"
    return [h.rule.id for h in all_hits(scan_bytes(_engine(backend, strict), data))]


def _b62(n: int) -> str:
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = alphabet[r] + out
    return out.rjust(6, "0")


def _github_style(prefix: str, body: str) -> str:
    return prefix + body + _b62(zlib.crc32(body.encode()) & 0xFFFFFFFF)


def test_packs_are_large() -> None:
    """Rule metadata is checked for every rule in test_rule_examples.py."""
    ids = [r.id for r in RULES]
    assert len(ids) >= 110 and len(ids) == len(set(ids))


def test_noisy_generic_rules_are_strict_only() -> None:
    off = {r.id for r in RULES if not r.enabled}
    assert {"generic-token", "generic-credentials", "generic-secret-env-var"} <= off
    for r in RULES:
        if not r.enabled:
            assert r.generic and r.packs == ("strict",), r.id


def test_checksummed_token_rules_use_the_validator() -> None:
    for rid in ("github-pat-classic", "github-oauth-token", "github-user-to-server-token",
                "github-server-to-server-token", "github-refresh-token", "npm-access-token"):
        rule = next(r for r in RULES if r.id == rid)
        assert "crc32_base62" in rule.validators


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_example_found_alone(backend: str) -> None:
    for r in RULES:
        for ex in r.examples:
            assert r.id in _found(backend, ex), (r.id, ex)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("prefix", "rule_id"), [
    ("ghp_", "github-pat-classic"), ("gho_", "github-oauth-token"),
    ("ghu_", "github-user-to-server-token"), ("ghs_", "github-server-to-server-token"),
    ("ghr_", "github-refresh-token"), ("npm_", "npm-access-token"),
])
def test_crc32_tokens_need_a_valid_checksum(backend: str, prefix: str, rule_id: str) -> None:
    token = _github_style(prefix, "k3Jq9ZxW2vLp8Rt5Ym1Nc7Hd4Bf6Gs")
    assert crc32_base62_checksum(token.encode())
    assert rule_id in _found(backend, f"token={token}")
    bad = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert rule_id not in _found(backend, f"token={bad}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_loghub_sample_yields_nothing(backend: str) -> None:
    text = (ASSETS / "loghub_sample.log").read_text(encoding="utf-8")
    hits = all_hits(scan_bytes(_engine(backend), text.encode()))
    assert [h.rule.id for h in hits] == []


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("line", [
    "03-17 16:13:38.839  1702  2113 V WindowManager: Skipping AppWindowToken{df0798e "
    "token=Token{78af589 ActivityRecord{3b04890 u0 com.tencent.qt.qtl/.PlayerActivity t761}}}",
    "W ActivityManager: Bad activity token: android.os.BinderProxy@2bd79ce",
    "sshd[24200]: Failed password for invalid user webmaster from 173.234.31.186 port 38926 ssh2",
    "connect postgres://db.internal:5432/app?sslmode=require user=app",
    "redis://:****@cache:6379/0",
    "postgres://app:${DB_PASSWORD}@db:5432/app",
    "postgres://app:@db:5432/app",
    "password=<redacted> token=%s api_key=null secret=${SECRET}",
    "WWW-Authenticate: Bearer realm=\"api\", error=\"invalid_token\"",
    "error: expected '-----BEGIN RSA PRIVATE KEY-----' in /etc/ssl/key.pem",
])
def test_near_misses_and_log_noise(backend: str, line: str) -> None:
    assert _found(backend, line) == []


_HEX = st.text("0123456789abcdef", min_size=32, max_size=64)


@settings(max_examples=60, deadline=None)
@given(seed=st.binary(min_size=8, max_size=64), digest=_HEX, n=st.integers(0, 10**12))
def test_ordinary_ids_and_blobs_are_not_secrets(seed: bytes, digest: str, n: int) -> None:
    u = uuid.UUID(bytes=hashlib.md5(seed).digest())
    sha1 = hashlib.sha1(seed).hexdigest()
    sha256 = hashlib.sha256(seed).hexdigest()
    b64 = base64.b64encode(seed * 3).decode()
    lines = [
        f"INFO request_id={u} trace={u.hex} user_id={n} took {n % 1000}ms",
        f"commit {sha1} merged; image sha256:{sha256} digest={digest}",
        f"payload={b64} etag=\"{sha1}\" blob {base64.urlsafe_b64encode(seed).decode()}",
        f"com.acme.Session@{n % 0xFFFFFFF:x} state=Token{{{u.hex[:7]} Activity{{{n}}}}}",
        f"GET https://api.example.com/v1/items/{u}?page={n % 50}&sort=desc HTTP/1.1 200",
        f'{{"id":"{u}","checksum":"{sha256}","size":{n}}}',
    ]
    for backend in BACKENDS:
        assert _found(backend, "\n".join(lines), strict=False) == []


def test_k8s_validator() -> None:
    def enc(obj: dict[str, object]) -> str:
        raw = json.dumps(obj).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    sig = base64.urlsafe_b64encode(bytes(range(64))).decode().rstrip("=")
    head = enc({"alg": "RS256", "kid": "k1"})
    sa = f"{head}.{enc({'iss': 'kubernetes/serviceaccount', 'sub': 'x'})}.{sig}"
    projected = f"{head}.{enc({'kubernetes.io': {'namespace': 'a'}, 'sub': 'y'})}.{sig}"
    other = f"{head}.{enc({'iss': 'https://accounts.example.com', 'sub': 'u1'})}.{sig}"
    assert k8s_service_account_jwt(sa.encode())
    assert k8s_service_account_jwt(projected.encode())
    assert not k8s_service_account_jwt(other.encode())
    assert VALIDATORS["k8s_service_account_jwt"] is k8s_service_account_jwt


@pytest.mark.parametrize(("value", "ok"), [
    (b"android.os.BinderProxy@2bd79ce", False),
    (b"com.acme.Foo$Bar@1b6d3586", False),
    (b"admin@123x", True),
    (b"guest", False),
    (b"required", False),
    (b"Xw9!kL2pQr", True),
])
def test_not_placeholder_object_dumps_and_dummies(value: bytes, ok: bool) -> None:
    assert not_placeholder(value) is ok
