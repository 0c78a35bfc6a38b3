"""Fail closed, lose nothing: every internal error is one line with a documented exit code, an
output is never one of the inputs, and the loaders of outside bytes (state, baseline, rule
files) never raise anything but their one-line error.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logaudit import incremental
from logaudit.baseline import Baseline, key_id, load_baseline, save_baseline
from logaudit.errors import ConfigError, RuleError
from logaudit.rules import _parse_rule_file
from logaudit.sources.interface import InputRef
from logaudit.state import Entry, State, keyed_hash, load_state, save_state

ROOT = Path(__file__).resolve().parent.parent
KEY = b"k"
EMAIL = "2026-11-01T10:00:00Z INFO signup user1@example.com ok\n"


def run(*args: str, cwd: Path | None = None, stdin: int | None = None,
        stdout: int | None = None, code: str | None = None) -> subprocess.CompletedProcess[bytes]:
    """``logaudit ARGS`` in a fresh process (or ``code``, then the entry point)."""
    env = {**os.environ, "LOGAUDIT_KEY": "k", "PYTHONPATH": str(ROOT)}
    env.pop("LOGAUDIT_DEBUG", None)
    head = [sys.executable, "-c", code + "\nfrom logaudit.cli import main\nmain()"] if code \
        else [sys.executable, "-m", "logaudit"]
    return subprocess.run([*head, *args], cwd=cwd, env=env, stdin=stdin,
                          stdout=stdout if stdout is not None else subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=120, check=False)


def one_line(r: subprocess.CompletedProcess[bytes]) -> str:
    """stderr, asserted to be exactly one logaudit line (no traceback, no second failure)."""
    err = r.stderr.decode()
    assert "Traceback" not in err and "Exception ignored" not in err, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("logaudit: "), err
    return lines[0]


@pytest.fixture
def app(tmp_path: Path) -> Path:
    p = tmp_path / "app.log"
    p.write_text(EMAIL)
    return p


# ------------------------------------------------------------------- the state file


def _valid_state(tmp_path: Path, app: Path) -> Path:
    st_path = tmp_path / "state.json"
    r = run("scan", str(app), "--state", str(st_path), "-q")
    assert r.returncode == 1 and st_path.exists()
    return st_path


def test_hand_edited_state_is_one_line_exit_2(tmp_path: Path, app: Path) -> None:
    st_path = _valid_state(tmp_path, app)
    doc = json.loads(st_path.read_text())
    (entry,) = doc["entries"].values()
    entry["offset"] = "abc"
    st_path.write_text(json.dumps(doc))
    r = run("scan", str(app), "--state", str(st_path), "-q")
    assert r.returncode == 2
    assert "offset is not a non-negative integer" in one_line(r)
    assert "move it away" in r.stderr.decode()


@pytest.mark.parametrize("content", [
    b"\xff\xfe{\x00",  # not UTF-8
    b'{"version": 1, "entries": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",  # RecursionError
    b"[]", b'{"version": 1}', b'{"version": 1, "entries": []}',
    b'{"version": 1, "entries": {"/x": {"path": "/x"}}}',
    b'{"version": 1, "entries": {"/x": 7}}',
], ids=["not-utf8", "nested", "list", "no-entries", "entries-list", "missing-fields", "not-obj"])
def test_corrupt_state_is_one_line_exit_2(tmp_path: Path, app: Path, content: bytes) -> None:
    st_path = tmp_path / "state.json"
    st_path.write_bytes(content)
    r = run("scan", str(app), "--state", str(st_path), "-q")
    assert r.returncode == 2
    assert "the state file is corrupt" in one_line(r)
    assert st_path.read_bytes() == content  # left for the user to look at


def test_fifo_as_state_does_not_block(tmp_path: Path, app: Path) -> None:
    fifo = tmp_path / "state.fifo"
    os.mkfifo(fifo)
    r = run("scan", str(app), "--state", str(fifo), "-q")  # timeout=120: a block fails
    assert r.returncode == 2
    assert "not a regular file" in one_line(r)


def test_directory_as_state(tmp_path: Path, app: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the state file"):
        load_state(str(tmp_path))


def test_state_not_saved_after_the_report_is_exit_3(tmp_path: Path, app: Path) -> None:
    """The state's directory turned read-only (or full) after the report was written: the
    report is complete and stays, the state is unchanged, one line says so, exit 3."""
    st_path = _valid_state(tmp_path, app)
    before = st_path.read_bytes()
    with app.open("a") as f:
        f.write("2026-11-01T10:00:02Z INFO signup user2@example.com ok\n")
    out = tmp_path / "report.jsonl"
    inject = textwrap.dedent("""
        import errno
        import logaudit.state as st
        def refuse(path, data):
            raise OSError(errno.EROFS, "Read-only file system", path)
        st.atomic_write = refuse
    """)
    r = run("scan", str(app), "--state", str(st_path), "-o", str(out), "-q", code=inject)
    assert r.returncode == 3
    msg = one_line(r)
    assert "cannot save the state (Read-only file system)" in msg
    assert "the report is complete" in msg and "the scan did not complete" not in msg
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [(r["line"], r["rule_id"]) for r in rows] == [(2, "email-address")]
    assert st_path.read_bytes() == before
    # The next run rescans what the failed one could not commit: the finding comes again.
    r = run("scan", str(app), "--state", str(st_path), "-o", str(out), "-q")
    assert r.returncode == 1
    assert [json.loads(x)["line"] for x in out.read_text().splitlines()] == [2]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("fmt", ["table", "jsonl"])
def test_scan_to_a_full_stdout(tmp_path: Path, app: Path, fmt: str) -> None:
    st_path = tmp_path / "state.json"
    with open("/dev/full", "wb") as full:
        r = run("scan", str(app), "--format", fmt, "--state", str(st_path), stdout=full.fileno())
    assert r.returncode == 3
    msg = one_line(r)
    assert "standard output: cannot write (No space left on device)" in msg
    assert "the state was not saved" in msg
    assert not st_path.exists()


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_report_to_a_full_stdout(tmp_path: Path, app: Path) -> None:
    rep = tmp_path / "r.jsonl"
    assert run("scan", str(app), "-o", str(rep), "-q").returncode == 1
    for args in ([str(rep)], [str(rep), "--rows"], ["--diff", str(rep), str(rep)]):
        with open("/dev/full", "wb") as full:
            r = run("report", *args, stdout=full.fileno())
        assert r.returncode == 3, args
        assert "standard output: cannot write" in one_line(r)


def test_unreachable_ftp_url_is_an_input_error(tmp_path: Path) -> None:
    """fsspec's ftp:// connects while the file system is made: that is this input's error
    (exit 3, one line, credentials not shown), not an internal error."""
    r = run("scan", "ftp://user:hunter2@127.0.0.1:9/x.log", "-q")
    assert r.returncode == 3
    msg = r.stderr.decode()
    assert "Traceback" not in msg and "internal error" not in msg and "hunter2" not in msg
    assert "ftp://127.0.0.1:9/x.log: cannot connect" in msg


def test_empty_rule_file_is_refused(tmp_path: Path, app: Path) -> None:
    empty = tmp_path / "empty.toml"
    empty.write_text("# nothing yet\n")
    r = run("scan", str(app), "--rules", str(empty))
    assert r.returncode == 2
    assert "no [[rules]] tables found" in one_line(r)
    misnamed = tmp_path / "misnamed.toml"
    misnamed.write_text('[[rule]]\nid = "x"\n')
    assert run("scan", str(app), "--rules", str(misnamed)).returncode == 2


def test_rule_file_of_allow_entries_only_is_taken(tmp_path: Path, app: Path) -> None:
    allow = tmp_path / "allow.toml"
    allow.write_text('[[allow]]\nrules = ["email-address"]\nreason = "test users"\n')
    r = run("scan", str(app), "--rules", str(allow), "-q")
    assert r.returncode == 0, r.stderr.decode()


def test_nested_rule_toml_is_a_rule_error(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match="nested too deeply"):
        _parse_rule_file("deep.toml", b"a = " + b"[" * 100_000 + b"]" * 100_000)


# ------------------------------------------------------------------- baselines


def test_baseline_without_key_id_is_refused(tmp_path: Path, app: Path) -> None:
    b = tmp_path / "b.json"
    b.write_text('{"version": 1, "entries": {}}')
    r = run("scan", str(app), "--baseline", str(b))
    assert r.returncode == 2
    assert "has no key_id" in one_line(r)


@pytest.mark.parametrize("doc", [
    '{"version": 1, "key_id": "K", "entries": {"fp": {"rule_id": 1, "category": "pii", '
    '"severity": "low", "first_seen": "x"}}}',
    '{"version": 1, "key_id": "K", "entries": {"fp": {"rule_id": "r", "category": "pii", '
    '"severity": "low", "first_seen": "x", "paths": "/a"}}}',
    '{"version": 1, "key_id": "K", "entries": {"fp": {"rule_id": "r"}}}',
    '{"version": 1, "key_id": "K", "entries": ' + "[" * 50_000 + "]" * 50_000 + "}",
    '{"version": 1, "key_id": 5, "entries": {}}',
])
def test_malformed_baseline_is_one_config_error(tmp_path: Path, doc: str) -> None:
    b = tmp_path / "b.json"
    b.write_text(doc.replace('"K"', json.dumps(key_id(KEY))))
    with pytest.raises(ConfigError):
        load_baseline(str(b), KEY)


def test_baseline_round_trip(tmp_path: Path) -> None:
    b = Baseline(key_id=key_id(KEY))
    b.add([{"fingerprint": "f1", "rule_id": "r", "category": "pii", "severity": "low",
            "path": "/a"}], "me", "why")
    save_baseline(str(tmp_path / "b.json"), b)
    assert load_baseline(str(tmp_path / "b.json"), KEY).entries == b.entries


# ------------------------------------------------------------------- outputs that are inputs


def test_scan_output_that_is_the_input(tmp_path: Path, app: Path) -> None:
    kept = app.read_bytes()
    (tmp_path / "link.jsonl").symlink_to(app)
    os.link(app, tmp_path / "hard.jsonl")
    for out, args in ((str(app), [str(app), "-f", "jsonl"]),
                      (str(tmp_path / "link.jsonl"), [str(app)]),
                      (str(tmp_path / "hard.jsonl"), [str(tmp_path / "app.log")]),
                      (str(tmp_path / "." / "app.log"), [str(tmp_path), "-f", "jsonl"]),
                      (str(tmp_path / "hard.jsonl"), [str(tmp_path / "sub" / "..")])):
        (tmp_path / "sub").mkdir(exist_ok=True)
        r = run("scan", *args, "-o", out)
        assert r.returncode == 2, (out, args, r.stderr)
        assert "-o names an input of this run" in one_line(r)
        assert app.read_bytes() == kept
    with app.open("rb") as f:
        r = run("scan", "-", "-o", str(app), "-f", "jsonl", stdin=f.fileno())
    assert r.returncode == 2 and app.read_bytes() == kept


def test_scan_report_inside_the_scanned_tree(tmp_path: Path, app: Path) -> None:
    out = tmp_path / "report.jsonl"
    assert run("scan", str(tmp_path), "-o", str(out), "-q").returncode == 1  # new: fine
    r = run("scan", str(tmp_path), "-o", str(out), "-q")  # now it is one of the inputs
    assert r.returncode == 2
    r = run("scan", str(tmp_path), "-o", str(out), "-q", "--exclude", "*.jsonl")
    assert r.returncode == 1, r.stderr


def test_report_diff_output_over_old(tmp_path: Path, app: Path) -> None:
    old, new = tmp_path / "old.jsonl", tmp_path / "new.jsonl"
    for p in (old, new):
        assert run("scan", str(app), "-o", str(p), "-q").returncode == 1
    kept = old.read_bytes()
    for args in (["--diff", str(old), str(new), "-o", str(old)],
                 ["--diff", str(old), str(new), "--rows", "-o", str(tmp_path / "." / "new.jsonl")],
                 [str(tmp_path), "--rows", "-o", str(old)]):
        r = run("report", *args)
        assert r.returncode == 2, args
        assert "-o names an input of this run" in one_line(r)
    assert old.read_bytes() == kept
    r = run("report", "--diff", str(old), str(new), "--rows", "-o", str(tmp_path / "d.jsonl"))
    assert r.returncode == 0, r.stderr


def test_redact_outputs_that_are_inputs(tmp_path: Path, app: Path) -> None:
    kept = app.read_bytes()
    r = run("redact", str(app), "--out-dir", str(tmp_path / "red"), "-o", str(app),
            "-f", "jsonl")
    assert r.returncode == 2 and "-o names an input" in one_line(r)
    # --out-dir . with a relative input: the copy would land on the input itself.
    r = run("redact", "app.log", "--out-dir", ".", cwd=tmp_path)
    assert r.returncode == 2 and "over app.log itself" in one_line(r)
    r = run("redact", str(app), "--out-dir", "/")
    assert r.returncode == 2 and "itself" in one_line(r)
    assert app.read_bytes() == kept
    assert not (tmp_path / "red").exists()


def test_redact_out_dir_holding_the_inputs_skips_only_copies(tmp_path: Path) -> None:
    """``redact logs --out-dir logs``: the inputs lie below the out-dir; they are redacted
    (not skipped as if they were this run's output), earlier copies are skipped."""
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "app.log").write_text(EMAIL)
    for _ in range(2):
        r = run("redact", "logs", "--out-dir", "logs", cwd=tmp_path)
        assert r.returncode == 1, r.stderr
        assert "redacted 1 value(s) in 1 file(s)" in r.stderr.decode()
    assert sorted(p.relative_to(logs).as_posix() for p in logs.rglob("*.log")) == \
        ["app.log", "logs/app.log"]
    assert "user1@example.com" not in (logs / "logs" / "app.log").read_text()


# ------------------------------------------------------------------- indexes = the old scans


def _naive_by_head(state: State, key: bytes, head: bytes, ok: object) -> list[Entry]:
    return [e for e in state.entries.values() if ok(e)  # type: ignore[operator]
            and e.head_len <= len(head) and e.head == keyed_hash(key, head[: e.head_len])]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_state_indexes_answer_as_a_pass_over_every_entry(seed: int) -> None:
    rnd = random.Random(seed)
    heads = [bytes(rnd.choice(b"ab\n") for _ in range(rnd.randint(0, 12))) for _ in range(6)]
    entries: dict[str, Entry] = {}
    for i in range(rnd.randint(0, 30)):
        h = rnd.choice(heads)
        n = rnd.randint(0, len(h))
        entries[f"/p{i}"] = Entry(
            path=f"/p{i}", dev=rnd.randint(1, 2), ino=rnd.randint(1, 5), size=9, mtime=0.0,
            head=keyed_hash(KEY, h[:n]), head_len=n, offset=rnd.randint(0, 3), line=0,
            compressed=rnd.random() < 0.3)
    state = State(entries)
    for h in heads:
        def ok(e: Entry) -> bool:
            return not e.compressed and e.offset > 0
        assert state.by_head(KEY, h, ok) == _naive_by_head(state, KEY, h, ok)
    for dev in (1, 2):
        for ino in range(1, 6):
            naive = next((e for e in entries.values() if (e.dev, e.ino) == (dev, ino)), None)
            assert state.by_inode(dev, ino) is naive


def test_finish_drops_the_old_name_of_a_renamed_file(tmp_path: Path) -> None:
    """The identity index in ``finish``: app.log renamed to app.log.1 and a new app.log."""
    logs = tmp_path / "logs"
    logs.mkdir()
    a = logs / "app.log"
    a.write_text(EMAIL)
    r1 = run("scan", str(logs), "--state", str(tmp_path / "s.json"), "-q")
    assert r1.returncode == 1
    a.rename(logs / "app.log.1")
    a.write_text(EMAIL.replace("user1", "user2"))
    r2 = run("scan", str(logs), "--state", str(tmp_path / "s.json"), "-o",
             str(tmp_path / "r.jsonl"), "-q")
    assert r2.returncode == 1
    assert [json.loads(x)["path"] for x in (tmp_path / "r.jsonl").read_text().splitlines()] \
        == [str(a)]
    doc = json.loads((tmp_path / "s.json").read_text())
    assert sorted(doc["entries"]) == [str(a), str(logs / "app.log.1")]
    assert len({(e["dev"], e["ino"]) for e in doc["entries"].values()}) == 2


# ------------------------------------------------------------------- fuzz: outside bytes


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 2**70) | st.floats(allow_nan=True)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=20)

_ENTRY_KEYS = ["path", "dev", "ino", "size", "mtime", "head", "head_len", "offset", "line",
               "tail", "decoded_head", "decoded_len", "compressed", "scanned", "object_id"]


@st.composite
def _state_docs(draw: st.DrawFn) -> object:
    """Mostly state-shaped documents with some fields of any JSON type."""
    n = draw(st.integers(0, 3))
    entries = {}
    for i in range(n):
        e: dict[str, object] = {"path": f"/x{i}", "dev": 1, "ino": i + 1, "size": 5,
                                "mtime": 1.0, "head": "h", "head_len": 1, "offset": 5,
                                "line": 1}
        for k in draw(st.lists(st.sampled_from(_ENTRY_KEYS), max_size=3)):
            e[k] = draw(_json)
        if draw(st.booleans()):
            e.pop(draw(st.sampled_from(_ENTRY_KEYS)), None)
        entries[draw(st.text(max_size=6)) if draw(st.booleans()) else f"/x{i}"] = e
    doc: dict[str, object] = {"version": draw(st.sampled_from([1, 1, 1, 2, "1", None])),
                              "entries": entries}
    if draw(st.booleans()):
        doc[draw(st.sampled_from(["version", "entries", "extra"]))] = draw(_json)
    return doc


def _bytes_or_docs(docs: st.SearchStrategy[object]) -> st.SearchStrategy[bytes]:
    as_json = docs.map(lambda d: json.dumps(d).encode())
    return st.one_of(st.binary(max_size=200), as_json,
                     as_json.flatmap(lambda b: st.integers(0, len(b)).map(lambda i: b[:i])))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(data=_bytes_or_docs(_state_docs()))
def test_fuzz_state_loader(tmp_path: Path, data: bytes) -> None:
    """Any bytes as a state file: a ConfigError, or a state the planner and finish can use."""
    p = tmp_path / "state.json"
    p.write_bytes(data)
    try:
        state = load_state(str(p))
    except ConfigError as e:
        assert "\n" not in str(e)
        return
    log = tmp_path / "x0"
    log.write_text("a\nb\n")
    items, plans, _ = incremental.plan([InputRef(str(log), str(log))], state, KEY)
    incremental.finish(state, plans, {}, {}, [], set(), KEY)
    save_state(str(tmp_path / "again.json"), state)
    assert load_state(str(tmp_path / "again.json")).entries == state.entries


@st.composite
def _baseline_docs(draw: st.DrawFn) -> object:
    entries = {}
    for i in range(draw(st.integers(0, 3))):
        e: dict[str, object] = {"rule_id": "r", "category": "pii", "severity": "low",
                                "first_seen": "t", "paths": ["/a"], "who": "", "why": ""}
        for k in draw(st.lists(st.sampled_from([*e, "extra"]), max_size=2)):
            e[k] = draw(_json)
        entries[f"fp{i}"] = e
    doc: dict[str, object] = {"version": 1, "key_id": draw(st.sampled_from(
        [key_id(KEY), "", "other", None, 3])), "entries": entries}
    if draw(st.booleans()):
        doc.pop(draw(st.sampled_from(list(doc))))
    return doc


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(data=_bytes_or_docs(_baseline_docs()))
def test_fuzz_baseline_loader(tmp_path: Path, data: bytes) -> None:
    p = tmp_path / "b.json"
    p.write_bytes(data)
    try:
        b = load_baseline(str(p), KEY)
    except ConfigError as e:
        assert "\n" not in str(e)
        return
    b.add([{"fingerprint": "new", "rule_id": "r", "category": "pii", "severity": "low",
            "path": "/b"}])
    b.prune({"new"})
    save_baseline(str(tmp_path / "again.json"), b)
    assert load_baseline(str(tmp_path / "again.json"), KEY).entries == b.entries


_TOML_VALUES = ['"x"', "1", "true", "[]", '["a", 1]', "{a = 1}", '"secret-\\\\d+"', "[[1]]",
                '"email"', '"pii"', '"low"', '["ok 1"]', '["no"]', "1979-05-27"]
_RULE_KEYS = ["id", "description", "category", "severity", "regex", "keywords", "examples",
              "counter_examples", "secret_group", "validators", "min_entropy", "enabled",
              "packs", "references", "prefilter", "detector", "bogus"]


_VALID_RULE = {"id": '"acme-key"', "category": '"secret"', "severity": '"high"',
               "description": '"ACME key"', "keywords": '["acme_"]',
               "regex": "'\\bacme_[a-z0-9]{8}\\b'", "examples": '["x acme_abcdefgh y"]',
               "counter_examples": '["acme_short"]'}


@st.composite
def _rule_toml(draw: st.DrawFn) -> bytes:
    """A valid rule with some fields replaced, dropped or added, then other tables."""
    rule = dict(_VALID_RULE)
    for k in draw(st.lists(st.sampled_from(_RULE_KEYS), max_size=3)):
        rule[k] = draw(st.sampled_from([*_TOML_VALUES, "'(a+)+$'", "'['", "'(?P<x>a)'"]))
    for k in draw(st.lists(st.sampled_from(list(_VALID_RULE)), max_size=2)):
        rule.pop(k, None)
    lines = ["[[rules]]", *(f"{k} = {v}" for k, v in rule.items())] if draw(st.booleans()) \
        else []
    for _ in range(draw(st.integers(0, 2))):
        lines.append(draw(st.sampled_from(["[[rules]]", "[[allow]]", "[rules]", "[pack]"])))
        keys = draw(st.lists(st.sampled_from(_RULE_KEYS), max_size=8, unique=True))
        lines.extend(f"{k} = {draw(st.sampled_from(_TOML_VALUES))}" for k in keys)
    return "\n".join(lines).encode()


@settings(max_examples=300, deadline=None)
@given(data=st.one_of(st.binary(max_size=200), _rule_toml(),
                      st.text(max_size=100).map(str.encode)))
def test_fuzz_rule_toml(data: bytes) -> None:
    """Any bytes as a rule file: rules, or a RuleError of one line."""
    try:
        _parse_rule_file("fuzz.toml", data)
    except RuleError as e:
        assert e.source == "fuzz.toml"


# ------------------------------------------------------------------- lifecycle: Ctrl-C


def test_ctrl_c_is_one_line_and_exit_130(tmp_path: Path) -> None:
    """typer turns a KeyboardInterrupt into a silent exit 130: the user must be told that
    nothing was written. Ctrl-C goes to the whole process group, as from a terminal."""
    import signal

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    (tmp_path / "a.log").write_text(EMAIL * 100)
    out, state = tmp_path / "report.jsonl", tmp_path / "state.json"
    env = {**os.environ, "LOGAUDIT_KEY": "k", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "logaudit", "scan", str(fifo), str(tmp_path / "a.log"), "-o",
         str(out), "-j2", "--state", str(state)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True)
    with open(fifo, "wb") as w:  # returns once the scan has opened the FIFO
        w.write(EMAIL.encode())
        w.flush()
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.decode().splitlines() == [
        "logaudit: interrupted (Ctrl-C): workers stopped, no report written, state not saved"]
    assert not out.exists() and not state.exists()


def test_a_signal_while_workers_are_forked_is_raised_after(tmp_path: Path) -> None:
    """Within ``signals_blocked`` a stop signal is only noted (the handler may run in the main
    thread though another thread received it) and raised when the block ends."""
    import signal

    from logaudit import lifecycle

    reached = []
    with pytest.raises(lifecycle.Interrupted), lifecycle.terminate_raises():
        with lifecycle.signals_blocked():
            os.kill(os.getpid(), signal.SIGINT)
            signal.raise_signal(signal.SIGINT)  # as if delivered to another thread
            reached.append(True)
        reached.append(False)
    assert reached == [True]
    with pytest.raises(lifecycle.Terminated), lifecycle.terminate_raises():
        with lifecycle.signals_blocked():
            signal.raise_signal(signal.SIGTERM)
            os.kill(os.getpid(), signal.SIGINT)
