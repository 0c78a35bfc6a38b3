"""Stack-trace block detectors: every traceback rule's examples through the engine (both
backends), chunk-boundary independence, prefixes, interleaving, JSON-embedded traces, masking,
the CLI, and that no per-line work happens outside a block."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logaudit.engine import tracebacks
from logaudit.engine.blocks import DETECTOR_NAMES, DETECTORS
from logaudit.engine.model import Hit
from logaudit.engine.prefilter import hyperscan_available
from logaudit.engine.scanner import Engine, all_hits, scan_bytes
from logaudit.rules import BLOCK_DETECTORS, Rule, load_rule_file
from logaudit.sources.chunking import iter_chunks

ROOT = Path(__file__).resolve().parent.parent
ASSETS = Path(__file__).resolve().parent / "assets" / "errors"
RULES = load_rule_file(ROOT / "patterns" / "errors" / "tracebacks.toml")
BACKENDS = ["pyahocorasick"] + (["hyperscan"] if hyperscan_available() else [])
ENGINES = {b: Engine(RULES, backend=b, detectors=DETECTORS) for b in BACKENDS}


def _tb_hits(engine: Engine, data: bytes) -> list[Hit]:
    return [h for h in all_hits(scan_bytes(engine, data)) if h.rule.detector]


def _key(h: Hit) -> tuple[Any, ...]:
    return (h.rule.id, h.line, h.end_line, h.start, h.end, json.dumps(h.details, sort_keys=True))


def _scan_chunked(engine: Engine, data: bytes, block: int, read: int) -> list[Hit]:
    stream = engine.stream()
    out = []
    for chunk in iter_chunks(io.BytesIO(data), block_size=block, read_size=read):
        out.extend(stream.feed(chunk))
    out.extend(stream.finish())
    return [h for h in all_hits(out) if h.rule.detector]


def test_detector_names_registered() -> None:
    assert DETECTOR_NAMES == BLOCK_DETECTORS
    assert {r.detector for r in RULES} == BLOCK_DETECTORS
    assert all(r.category.value == "traceback" and not r.regex for r in RULES)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_rule_examples(rule: Rule, backend: str) -> None:
    engine = ENGINES[backend]
    for ex in rule.examples:
        data = ex.encode()
        hits = _tb_hits(engine, data)
        assert [h.rule.id for h in hits] == [rule.id], f"{rule.id}: {ex!r} gave {hits}"
        h = hits[0]
        assert 1 <= h.line <= h.end_line <= data.count(b"\n") + 1
        assert h.secret_start == h.secret_end
        assert h.details and h.details["language"]
    for ex in rule.counter_examples:
        assert not _tb_hits(engine, ex.encode()), f"{rule.id}: counter-example found: {ex!r}"


def test_examples_end_on_their_last_trace_line() -> None:
    engine = ENGINES[BACKENDS[0]]
    for rule in RULES:
        for ex in rule.examples:
            lines = ex.splitlines()
            last = len(lines)
            while lines[last - 1].strip() in ('"}', ""):  # Laravel's closing JSON line
                last -= 1
            (h,) = _tb_hits(engine, ex.encode())
            assert h.end_line == last, (rule.id, ex)


def test_mixed_log_lines_and_details() -> None:
    data = (ASSETS / "mixed_traces.log").read_bytes()
    for engine in ENGINES.values():
        hits = sorted(_tb_hits(engine, data), key=lambda h: h.line)
        got = [(h.rule.id, h.line, h.end_line) for h in hits]
        assert got == [("jvm-stack-trace", 3, 8), ("python-traceback", 11, 23),
                       ("go-panic", 25, 32)]
        java, py, go = (h.details or {} for h in hits)
        assert java["exception_type"] == "java.lang.IllegalStateException"
        assert java["frame_count"] == 3 and java["internal_packages"] == ["com.acme.orders"]
        assert java["exception_chain"][1] == "java.sql.SQLException"
        assert py["exception_type"] == "LookupError"
        assert py["exception_chain"] == ["KeyError", "LookupError"]
        assert py["frame_count"] == 3 and py["source_paths"] == ["/srv/app/jobs/sync.py"]
        assert go["internal_packages"] == ["github.com/acme/ingest/internal/parse", "main"]
        assert go["source_paths"] == ["/build/internal/parse/header.go",
                                      "/build/cmd/ingest/main.go"]


NOISE = [
    b"2024-05-01 10:00:00,000 INFO [main] heartbeat ok",
    b"Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186",
    b"081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 terminating",
    b"WARN retrying after IOException",
    b"    at the moment nothing to do",
    b"",
]


def _corpus() -> bytes:
    parts = [(ASSETS / "mixed_traces.log").read_bytes()]
    for r in RULES:
        for ex in r.examples:
            parts.append(NOISE[len(parts) % len(NOISE)] + b"\n" + ex.encode() + b"\n")
    return b"\n".join(parts)


CORPUS = _corpus()
WHOLE = {b: sorted(map(_key, _tb_hits(ENGINES[b], CORPUS))) for b in BACKENDS}


def test_corpus_finds_every_example() -> None:
    expected = 3 + sum(len(r.examples) for r in RULES)
    for b in BACKENDS:
        assert len(WHOLE[b]) == expected
    assert WHOLE[BACKENDS[0]] == WHOLE[BACKENDS[-1]]


@settings(max_examples=60, deadline=None)
@given(block=st.integers(min_value=1, max_value=4000), read=st.integers(min_value=1, max_value=997))
def test_chunk_boundaries_do_not_change_findings(block: int, read: int) -> None:
    backend = BACKENDS[-1]
    got = sorted(map(_key, _scan_chunked(ENGINES[backend], CORPUS, block, read)))
    assert got == WHOLE[backend]


def test_prefix_on_every_line_is_one_block() -> None:
    data = b"".join(
        b"2024-05-01T10:00:0%dZ stderr F %s\n" % (i, line) for i, line in enumerate([
            b"Traceback (most recent call last):",
            b'  File "/app/main.py", line 3, in <module>',
            b"    main()",
            b"ValueError: bad input",
            b"INFO next request",
        ]))
    for engine in ENGINES.values():
        (h,) = _tb_hits(engine, data)
        assert (h.line, h.end_line) == (1, 4)
        assert h.details and h.details["exception_type"] == "ValueError"


def test_interleaved_threads_stay_apart() -> None:
    lines = [
        b"12:00:00.001 [pool-1] ERROR job A failed",
        b"12:00:00.001 [pool-1] java.lang.IllegalStateException: A broke",
        b"12:00:00.002 [pool-2] ERROR job B failed",
        b"12:00:00.002 [pool-1] \tat com.acme.a.Job.run(Job.java:10)",
        b"12:00:00.003 [pool-2] java.io.IOException: B broke",
        b"12:00:00.003 [main] INFO unrelated line",
        b"12:00:00.004 [pool-1] \tat com.acme.a.Pool.exec(Pool.java:20)",
        b"12:00:00.004 [pool-2] \tat com.acme.b.Io.read(Io.java:5)",
        b"12:00:00.005 [pool-2] \tat com.acme.b.Io.open(Io.java:6)",
        b"12:00:00.006 [pool-1] INFO job A rescheduled",
        b"12:00:00.007 [pool-2] INFO job B rescheduled",
    ]
    data = b"\n".join(lines) + b"\n"
    for engine in ENGINES.values():
        hits = sorted(_tb_hits(engine, data), key=lambda h: h.line)
        assert [(h.line, h.end_line) for h in hits] == [(2, 7), (5, 9)]
        a, b = (h.details or {} for h in hits)
        assert a["frame_count"] == 2 and a["internal_packages"] == ["com.acme.a"]
        assert b["frame_count"] == 2 and b["internal_packages"] == ["com.acme.b"]
        assert b["exception_type"] == "java.io.IOException"


def test_two_unprefixed_traces_back_to_back() -> None:
    one = (b"Traceback (most recent call last):\n  File \"/a.py\", line 1, in <module>\n"
           b"    x()\nNameError: name 'x' is not defined\n")
    for engine in ENGINES.values():
        hits = _tb_hits(engine, one + one)
        assert [(h.line, h.end_line) for h in hits] == [(1, 4), (5, 8)]


def test_trace_inside_json_line_reports_that_line() -> None:
    rec = {"ts": "2024-05-01T10:00:00Z", "level": "error",
           "exc_info": "Traceback (most recent call last):\n  File \"/app/w.py\", line 9, in go\n"
                       "    pay()\nRuntimeError: card declined for jane.doe@example.com"}
    rec2 = {"stack": "Error: nope\n    at run (/app/x.js:1:2)\n    at main (/app/x.js:9:1)"}
    data = b"INFO ok\n" + json.dumps(rec).encode() + b"\n" + json.dumps(rec2).encode() + b"\n"
    for engine in ENGINES.values():
        hits = sorted(_tb_hits(engine, data), key=lambda h: h.line)
        assert [(h.rule.id, h.line, h.end_line) for h in hits] == [
            ("python-traceback", 2, 2), ("nodejs-stack-trace", 3, 3)]
        d = hits[0].details or {}
        assert d["embedded"] and d["frame_count"] == 1
        assert "jane.doe@example.com" not in json.dumps(d)
        assert d["message"].startswith("card declined for j")


def test_messages_and_first_line_are_masked() -> None:
    data = (b"2024-05-01 ERROR login failed for bob@corp.example password=hunter2secret "
            b"java.lang.SecurityException: bad token=AbC123xYz789QwE456rTy for 4111111111111111\n"
            b"\tat com.acme.auth.Login.check(Login.java:7)\n")
    for engine in ENGINES.values():
        (h,) = _tb_hits(engine, data)
        (lh,) = [lh for lh in scan_bytes(engine, data) if h in lh.hits]
        blob = json.dumps(h.details) + lh.text.decode()
        for raw in ("bob@corp.example", "hunter2secret", "AbC123xYz789QwE456rTy",
                    "4111111111111111"):
            assert raw not in blob
        assert len(lh.text) == len(data.split(b"\n")[0])


@pytest.mark.parametrize("text", [
    b"WARN retrying after IOException\n",
    b"INFO upstream Caused by: timeout, will retry\n",
    b"Jun 14 15:16:01 host app: meeting   at 10:00 (room 4)\n",
    b"\tat com.acme.Only.one(Only.java:1)\n",
    b"ERROR something panic: no goroutines followed\nINFO ok\n",
    b"see Stack trace: below\n",
])
def test_one_line_mentions_are_not_tracebacks(text: bytes) -> None:
    for engine in ENGINES.values():
        assert not _tb_hits(engine, text)


def test_no_line_work_outside_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only lines that hold a marker (or follow one in an open block) reach Python."""
    calls = {"start": 0, "offer": 0}
    real_start, real_offer = tracebacks.start_block, tracebacks._Block.offer

    def start(*a: Any, **k: Any) -> Any:
        calls["start"] += 1
        return real_start(*a, **k)

    def offer(self: Any, *a: Any, **k: Any) -> Any:
        calls["offer"] += 1
        return real_offer(self, *a, **k)

    monkeypatch.setattr(tracebacks, "start_block", start)
    monkeypatch.setattr(tracebacks._Block, "offer", offer)
    noise = b"\n".join(NOISE[:3]) + b"\n"
    trace = b"Exception in thread \"main\" java.lang.Error: x\n\tat a.b.C.d(C.java:1)\n"
    data = noise * 2000 + trace + noise * 2000
    hits = _tb_hits(ENGINES[BACKENDS[0]], data)
    assert len(hits) == 1
    assert calls["start"] == 1 and calls["offer"] <= 2


def test_mask_text_is_length_preserving() -> None:
    for s in (b"a@b.example x", b"token=abc", b"id 123456789012", b"k=Zx9Qw8Er7Ty6Ui5Op4As"):
        assert len(tracebacks.mask_text(s)) == len(s)
    assert tracebacks.mask_text(b"java.lang.IllegalStateException") == \
        b"java.lang.IllegalStateException"


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "LOGAUDIT_KEY": "test-key"}
    return subprocess.run([sys.executable, "-m", "logaudit", *args], capture_output=True,
                          env=env, cwd=cwd, timeout=300)


def test_cli_reports_exactly_three_tracebacks(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes((ASSETS / "mixed_traces.log").read_bytes())
    out = tmp_path / "out.jsonl"
    r = _cli("scan", str(log), "--category", "traceback", "-o", str(out), "--format", "jsonl",
             "--workers", "1", cwd=tmp_path)
    assert r.returncode == 1, r.stderr.decode()
    rows = [json.loads(x) for x in out.read_text().splitlines() if x.strip()]
    got = sorted((x["rule_id"], x["line"], x["end_line"]) for x in rows)
    assert got == [("go-panic", 25, 32), ("jvm-stack-trace", 3, 8),
                   ("python-traceback", 11, 23)]
    assert all(x["category"] == "traceback" and x["details"] for x in rows)


def test_cli_rules_list_traceback(tmp_path: Path) -> None:
    r = _cli("rules", "list", "--category", "traceback", "--format", "json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr.decode()
    ids = {x["id"] for x in json.loads(r.stdout)}
    assert ids == {r.id for r in RULES}


def test_crlf_truncated_and_kotlin() -> None:
    truncated = (b"Traceback (most recent call last):\r\n"
                 b"  File \"/app/a.py\", line 1, in <module>\r\n    go()\r\n")
    kotlin = (b"kotlin.KotlinNullPointerException\n\tat com.acme.app.Main.run(Main.kt:12)\n"
              b"\tat com.acme.app.MainKt.main(Main.kt:3)\nINFO bye\n")
    for engine in ENGINES.values():
        (h,) = _tb_hits(engine, truncated)
        assert (h.line, h.end_line) == (1, 3)
        assert h.details and h.details["exception_type"] is None
        (k,) = _tb_hits(engine, kotlin)
        assert (k.line, k.end_line) == (1, 3)
        assert k.details and k.details["language"] == "kotlin"


def test_android_logcat_prefix() -> None:
    pre = b"03-17 16:13:38.811  1702  2395 E AndroidRuntime: "
    data = b"".join(pre + x + b"\n" for x in (
        b"FATAL EXCEPTION: main",
        b"java.lang.RuntimeException: Unable to start activity",
        b"\tat android.app.ActivityThread.performLaunchActivity(ActivityThread.java:2416)",
        b"\tat com.acme.mobile.MainActivity.onCreate(MainActivity.java:41)",
    )) + b"03-17 16:13:38.900  1702  1702 I ActivityManager: Process com.acme.mobile died\n"
    for engine in ENGINES.values():
        (h,) = _tb_hits(engine, data)
        assert (h.line, h.end_line) == (2, 4)
        assert h.details and h.details["internal_packages"] == ["com.acme.mobile"]


def test_python_exception_group_is_one_block() -> None:
    text = (b"2026-11-25 10:00:00 INFO start\n"
            b"  + Exception Group Traceback (most recent call last):\n"
            b'  |   File "/srv/app/main.py", line 3, in <module>\n'
            b"  | ExceptionGroup: jobs failed (2 sub-exceptions)\n"
            b"  +-+---------------- 1 ----------------\n"
            b"    | Traceback (most recent call last):\n"
            b'    |   File "/srv/app/jobs.py", line 9, in run\n'
            b"    | ValueError: bad row\n"
            b"    +---------------- 2 ----------------\n"
            b"    | KeyError: 'tenant'\n"
            b"    +------------------------------------\n"
            b"2026-11-25 10:00:01 INFO next\n")
    for b in BACKENDS:
        hits = _tb_hits(ENGINES[b], text)
        assert [(h.line, h.end_line) for h in hits] == [(2, 11)]
        d = hits[0].details or {}
        assert d["exception_type"] == "ExceptionGroup" and d["frame_count"] == 2
        assert d["exception_chain"] == ["ExceptionGroup", "ValueError", "KeyError"]
        assert d["source_paths"] == ["/srv/app/main.py", "/srv/app/jobs.py"]


def test_docker_json_file_records_hold_one_trace_line_each() -> None:
    def rec(text: str) -> bytes:
        return json.dumps({"log": text + "\n", "stream": "stderr",
                           "time": "2026-11-25T10:00:00.000000000Z"},
                          separators=(",", ":")).encode() + b"\n"

    data = b"".join([
        rec("2026-11-25 10:00:00 INFO start"),
        rec("Error: connect ECONNREFUSED 10.0.0.7:5432"),
        rec("    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16)"),
        rec("    at Socket.emit (/app/src/db.js:12:5)"),
        rec("2026-11-25 10:00:01 INFO next"),
        rec("Traceback (most recent call last):"),
        rec('  File "/app/jobs.py", line 9, in run'),
        rec("ValueError: bad row"),
        rec("2026-11-25 10:00:02 INFO done"),
    ])
    for b in BACKENDS:
        hits = _tb_hits(ENGINES[b], data)
        assert [(h.rule.id, h.line, h.end_line) for h in hits] == [
            ("nodejs-stack-trace", 2, 4), ("python-traceback", 6, 8)]
        assert (hits[1].details or {})["source_paths"] == ["/app/jobs.py"]


# (text, rule, first line, last line, exception type): the shapes of issue 15, one finding each
SHAPES = [
    (b"INFO start\ngoroutine 1 [running]:\nmain.main()\n\t/app/main.go:42 +0x1d\nINFO next\n",
     "go-panic", 2, 4, None),
    (b"INFO start\n2024/05/01 10:00:00 http: panic serving 10.0.0.9:5123: runtime error: "
     b"index out of range [3] with length 3\ngoroutine 24 [running]:\nmain.h()\n"
     b"\t/srv/h.go:31 +0x2f\nINFO next\n", "go-panic", 2, 5, "runtime error"),
    (b"Unhandled Exception:\nSystem.NullReferenceException: Object reference not set\n"
     b"  at Acme.Billing.Invoice.Total () [0x00005] in <8f2c4e5b6a7d4c1e9b0a1b2c3d4e5f60>:0\n"
     b"  at Acme.Billing.Program.Main (System.String[] args) [0x00012] in "
     b"<8f2c4e5b6a7d4c1e9b0a1b2c3d4e5f60>:0\nINFO next\n", "dotnet-stack-trace", 1, 4,
     "System.NullReferenceException"),
    ("INFO start\nSystem.InvalidOperationException: 操作无效。\n"
     "   在 Acme.Orders.OrderService.Ship(Int32 id) 位置 C:\\src\\OrderService.cs:行号 42\n"
     "   在 Acme.Orders.Api.Post()\nINFO next\n".encode(), "dotnet-stack-trace", 2, 4,
     "System.InvalidOperationException"),
    ("System.ArgumentNullException: La valeur ne peut pas être null.\nNom du paramètre : key\n"
     "   à Acme.Cache.Store.Get(String key) dans C:\\src\\Store.cs:ligne 17\n"
     "   à Acme.Cache.Api.Read()\n".encode(), "dotnet-stack-trace", 1, 4,
     "System.ArgumentNullException"),
    (b"05-01 10:00:00.123  4711  4711 E AndroidRuntime: FATAL EXCEPTION: main\n"
     b"05-01 10:00:00.123  4711  4711 E AndroidRuntime: java.lang.IllegalStateException: x\n"
     b"05-01 10:00:00.124  4711  4711 E AndroidRuntime: at android.view.View.performClick"
     b"(View.java:4725)\n"
     b"05-01 10:00:00.124  4711  4711 E AndroidRuntime: at com.acme.Main.save(Main.kt:88)\n"
     b"05-01 10:00:00.200  4711  4711 I ActivityManager: Process com.acme died\n",
     "jvm-stack-trace", 2, 4, "java.lang.IllegalStateException"),
    (b"09:00:00.001 ERROR c.a.Job - java.io.UncheckedIOException: disk full\n"
     b"09:00:00.002 ERROR c.a.Job - at com.acme.Job.write(Job.java:40)\n"
     b"09:00:00.002 ERROR c.a.Job - at com.acme.Job.run(Job.java:12)\n"
     b"09:00:00.003 INFO c.a.Job - retry scheduled\n", "jvm-stack-trace", 1, 3,
     "java.io.UncheckedIOException"),
    (b"Jun  2 09:17:00 api01 java[2211]: java.lang.IllegalStateException: pool closed\n"
     b"Jun  2 09:17:00 api01 java[2211]: #011at com.acme.repo.Pool.get(Pool.java:31)\n"
     b"Jun  2 09:17:00 api01 java[2211]: #011at com.acme.repo.Repo.find(Repo.java:12)\n",
     "jvm-stack-trace", 1, 3, "java.lang.IllegalStateException"),
    (b"java.lang.IllegalArgumentException: Invalid request body:\n  field 'amount' must be > 0\n"
     b"  field 'currency' is required\n\tat com.acme.api.Validator.check(Validator.java:44)\n"
     b"\tat com.acme.api.Pay.create(Pay.java:27)\nINFO next\n", "jvm-stack-trace", 1, 5,
     "java.lang.IllegalArgumentException"),
    (b'Exception in thread "main" java.lang.RuntimeException: first\nsecond line\n'
     b"\tat com.acme.Main.main(Main.java:5)\n", "jvm-stack-trace", 1, 3,
     "java.lang.RuntimeException"),
]


@pytest.mark.parametrize("text,rule_id,first,last,exc", SHAPES)
def test_new_shapes_are_one_finding_with_their_span(text: bytes, rule_id: str, first: int,
                                                     last: int, exc: str | None) -> None:
    for engine in ENGINES.values():
        (h,) = _tb_hits(engine, text)
        assert (h.rule.id, h.line, h.end_line) == (rule_id, first, last)
        assert h.details and h.details["exception_type"] == exc


@pytest.mark.parametrize("text", [
    b"Nota:\n   en casa (de Juan) a las diez\n   en la oficina (planta 2)\n",
    b"2024-05-01 10:00:00 INFO [main] at com.acme.Worker.run(Worker.java:12)\n",
    b"Jun 14 15:16:01 host app: at 10:00 (room 4) the deploy starts\n",
    b"INFO deploy - at noon - at dusk (maybe)\n",
    b"report: totals\n  at least two retries (3 total)\n  at most five (5 total)\n",
    b"WARN script: runtime error: x is undefined\nINFO retrying\n",
    # a header followed by ordinary lines: no frame, no finding, and the Python trace after
    # the message window is still found on its own
    b'Exception in thread "main" java.lang.Error: x\nINFO a\nINFO b\n',
])
def test_new_shapes_leave_prose_alone(text: bytes) -> None:
    for engine in ENGINES.values():
        assert not _tb_hits(engine, text)


def test_message_window_does_not_swallow_the_next_trace() -> None:
    data = (b'Exception in thread "main" java.lang.Error: x\nINFO a\n'
            b"Traceback (most recent call last):\n  File \"/a.py\", line 1, in <module>\n"
            b"ValueError: y\n")
    for engine in ENGINES.values():
        assert [(h.rule.id, h.line, h.end_line) for h in _tb_hits(engine, data)] == [
            ("python-traceback", 3, 5)]


def test_non_ascii_keywords_reach_both_prefilters() -> None:
    """A localised frame keyword (UTF-8 bytes) is found by pyahocorasick and hyperscan alike."""
    data = ("System.Exception: x\n   在 Acme.A.B() 位置 C:\\a.cs:行号 1\n"
            "   在 Acme.A.C()\n").encode()
    for engine in ENGINES.values():
        assert [h.rule.id for h in _tb_hits(engine, data)] == ["dotnet-stack-trace"]
