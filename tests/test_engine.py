"""Engine: candidates → confirm; line/column right whatever the block size; both backends agree."""

from __future__ import annotations

import io
import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logaudit.engine.prefilter import hyperscan_available, re2_engine_available
from logaudit.engine.scanner import Engine
from logaudit.rules import build_rule, load_builtin_rules
from logaudit.sources.chunking import iter_chunks

PORTABLE = ["pyahocorasick"] + (["re2"] if re2_engine_available() else [])
BACKENDS = PORTABLE + (["hyperscan"] if hyperscan_available() else [])
RULES = [r for r in load_builtin_rules() if not r.detector]


def _rule(**kw: object):  # type: ignore[no-untyped-def]
    raw = {
        "id": "test-tok", "category": "secret", "severity": "high", "description": "t",
        "keywords": ["tok_"], "regex": r"\btok_[a-z0-9]{8}\b",
        "examples": ["x tok_abcd1234 y"], "counter_examples": ["tok_short"],
    }
    raw.update(kw)
    return build_rule(raw, "test.toml")


def scan(engine: Engine, data: bytes, block: int = 8 << 20, read: int | None = None,
         max_line: int = 1 << 20, overlap: int = 16 << 10) -> list[tuple[int, int, str, bytes]]:
    """(line, column, rule, value) for every hit."""
    s = engine.stream()
    groups = []
    for chunk in iter_chunks(io.BytesIO(data), block, max_line, overlap, read):
        groups.extend(s.feed(chunk))
    groups.extend(s.finish())
    return sorted(
        (h.line, lh.col_base + h.start + 1, h.rule.id, lh.text[h.secret_start:h.secret_end])
        for lh in groups for h in lh.hits
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_line_and_column(backend: str) -> None:
    eng = Engine([_rule()], backend)
    data = b"first\r\nsecond tok_abcd1234\r\n\nx tok_zzzz9999 and tok_aaaa0000"
    assert scan(eng, data) == [
        (2, 8, "test-tok", b"tok_abcd1234"),
        (4, 3, "test-tok", b"tok_zzzz9999"),
        (4, 20, "test-tok", b"tok_aaaa0000"),
    ]


@pytest.mark.parametrize("backend", BACKENDS)
def test_invalid_utf8_and_binary_bytes_never_crash(backend: str) -> None:
    eng = Engine([_rule()], backend)
    data = b"\xff\xfe bad \xc3\x28 tok_abcd1234\n\x80\x81\n tok_bbbb2222 \xe2\x82"
    assert [(line, v) for line, _c, _r, v in scan(eng, data)] == [
        (1, b"tok_abcd1234"), (3, b"tok_bbbb2222")]


LINE = st.one_of(
    st.just(b"plain log line with nothing"),
    st.just(b"key tok_abcd1234 here"),
    st.just(b"tok_q1w2e3r4"),
    st.just(b""),
    st.just(b"\r"),
    st.binary(max_size=30).map(lambda b: b.replace(b"\n", b" ")),
    st.just(b"mail bob@example.com and card 4111 1111 1111 1111"),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(LINE, max_size=40), block=st.integers(1, 64), read=st.integers(1, 17),
       final_newline=st.booleans())
def test_findings_do_not_depend_on_block_size(
    lines: list[bytes], block: int, read: int, final_newline: bool
) -> None:
    rules = [_rule(), *[r for r in RULES if r.id in ("email-address", "payment-card-number")]]
    eng = Engine(rules, BACKENDS[-1])
    data = b"\n".join(lines) + (b"\n" if final_newline else b"")
    assert scan(eng, data, block=block, read=read) == scan(eng, data)


@pytest.mark.parametrize("backend", BACKENDS)
def test_line_longer_than_window_is_scanned_in_windows(backend: str) -> None:
    eng = Engine([_rule()], backend)
    # tokens at every position class: inside windows and straddling the window cuts
    parts = [b"x" * (37 * i % 101) + b" tok_%08d " % i for i in range(300)]
    data = b"".join(parts) + b"\nnext tok_last0001\n"
    full = scan(eng, data)
    windowed = scan(eng, data, block=64, read=13, max_line=256, overlap=32)
    assert windowed == full
    assert len(full) == 301 and full[-1][0] == 2


@pytest.mark.skipif(not hyperscan_available(),
                    reason="hyperscan does not import here: only one engine to compare")
@pytest.mark.parametrize("portable", PORTABLE)
def test_portable_engine_agrees_with_hyperscan(portable: str) -> None:
    """A portable engine gives the findings hyperscan gives, on every example and counter-example
    (each alone on a line, then all run together on one line) and on adversarial lines."""
    examples = [ex.encode() for r in RULES for ex in (*r.examples, *r.counter_examples)]
    corpus = b"\n".join(examples) * 3 + b"\n" + b" ".join(examples) + b"\n" + b"\n".join([
        b"password=" * 500, b"@a." * 2000, b"4111 " * 1000, b"=" * 3000, b"a=b " * 1000,
        b"1" * 5000, b"+1 555-123-4567 " * 50, b"AKIA" * 500])
    fast = scan(Engine(RULES, "hyperscan"), corpus)
    assert scan(Engine(RULES, portable), corpus) == fast
    assert len(fast) >= len(RULES)


@pytest.mark.parametrize("payload", [b"a=" * 2_000_000, b"a" * 4_000_000,
                                     b"password=" * 400_000, b"@a." * 1_000_000,
                                     b"4111 " * 800_000, b"-1" * 2_000_000])
def test_pathological_lines_finish(payload: bytes) -> None:
    """No regex runs on an unbounded input; no rule backtracks catastrophically."""
    eng = Engine(RULES)
    start = time.monotonic()
    scan(eng, payload + b"\n")
    # Generous bound: catches exponential/quadratic blow-ups, not a speed benchmark.
    assert time.monotonic() - start < 60


@pytest.mark.skipif(not hyperscan_available(), reason="hyperscan does not import here")
def test_compiled_database_cache(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cached database gives the same findings; a corrupt cache file is recompiled."""
    from pathlib import Path

    cache = Path(str(tmp_path))
    monkeypatch.setenv("LOGAUDIT_CACHE_DIR", str(cache))
    corpus = b"\n".join(ex.encode() for r in RULES for ex in r.examples)
    fresh = scan(Engine(RULES, "hyperscan"), corpus)
    files = list(cache.glob("hs-*.db"))
    assert len(files) == 1 and files[0].stat().st_size > 0
    assert scan(Engine(RULES, "hyperscan"), corpus) == fresh  # loaded from the cache
    files[0].write_bytes(b"not a database")
    assert scan(Engine(RULES, "hyperscan"), corpus) == fresh  # recompiled
    monkeypatch.setenv("LOGAUDIT_CACHE_DIR", "")
    assert scan(Engine(RULES, "hyperscan"), corpus) == fresh  # cache off


_NO_HYPERSCAN = """
import sys
sys.modules["hyperscan"] = None  # import hyperscan -> ImportError, as on a machine without it
from logaudit.cli import main
sys.argv = ["logaudit", *sys.argv[1:]]
main()
"""


@pytest.mark.parametrize("debug", [False, True])
def test_auto_without_hyperscan_says_so_in_one_line(tmp_path: object, debug: bool) -> None:
    """auto falls back to the portable engine with one stderr line (--debug: why); same findings."""
    import subprocess
    import sys
    from pathlib import Path

    log = Path(str(tmp_path)) / "a.log"
    log.write_text("\n".join(ex for r in RULES[:40] for ex in r.examples) + "\n")
    args = ["scan", str(log), "-f", "jsonl", *(["--debug"] if debug else [])]
    out = subprocess.run([sys.executable, "-c", _NO_HYPERSCAN, *args], capture_output=True,
                         text=True)
    lines = out.stderr.strip().splitlines()
    assert [ln for ln in lines if "engine" in ln] == [
        "logaudit: engine re2 (portable, slower): hyperscan does not import on this machine"
        + (": ModuleNotFoundError: import of hyperscan halted; None in sys.modules" if debug
           else "; --debug says why")]
    ref = subprocess.run([sys.executable, "-m", "logaudit", *args], capture_output=True,
                         text=True)
    def found(stdout: str) -> list[tuple[str, int, int]]:
        rows = [json.loads(ln) for ln in stdout.splitlines()]
        return sorted((r["rule_id"], r["line"], r["column"]) for r in rows)

    assert out.returncode == ref.returncode == 1
    assert found(out.stdout) == found(ref.stdout)
    assert len(found(out.stdout)) >= 40
