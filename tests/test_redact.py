"""``logaudit redact``: the rewriter, replacement modes, --out-dir, standard input, codecs, -j."""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import re
import select
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st
from test_cli import PLANTED

from logaudit.api import scan
from logaudit.redact import Replace, redact
from logaudit.redact.replace import rewrites
from logaudit.rules import RuleSelection, select_rules

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_logs"
NOT_README = ("*.md",)
REWRITTEN = [r.id for r in select_rules(RuleSelection()) if rewrites(r)]


def run_cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "LOGAUDIT_KEY": "test-key"}
    return subprocess.run([sys.executable, "-m", "logaudit", *args], capture_output=True,
                          input=stdin, env=env, timeout=300)


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def redacted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """sample_logs redacted once per mode (relative path kept under the out dir)."""
    out: dict[str, Path] = {}
    for mode in Replace:
        d = tmp_path_factory.mktemp(mode.value)
        cwd = os.getcwd()
        os.chdir(ROOT)
        try:
            res = redact(["sample_logs"], out_dir=d, replace=mode, exclude=NOT_README,
                         workers=1, key=b"test-key-not-secret")
        finally:
            os.chdir(cwd)
        assert not res.incomplete
        assert len(res.written) == 9 and res.replaced >= 31
        out[mode.value] = d / "sample_logs"
    return out


@pytest.mark.parametrize("mode", [m.value for m in Replace])
def test_sample_logs_rescanned_give_no_secret_or_pii(redacted: dict[str, Path],
                                                      mode: str) -> None:
    again = scan([redacted[mode]], workers=1)
    cats = set(again.findings["category"].to_list())
    assert not cats & {"secret", "pii"}
    # error findings are reported, not rewritten: the tracebacks are all still there
    before = scan([SAMPLES / "errors" / "tracebacks.log"], workers=1).findings
    after = scan([redacted[mode] / "errors" / "tracebacks.log"], workers=1).findings
    assert before["line"].to_list() == after["line"].to_list()


@pytest.mark.parametrize("mode", [m.value for m in Replace])
def test_no_planted_value_in_any_output(redacted: dict[str, Path], mode: str,
                                        tmp_path: Path) -> None:
    blob = b"".join(tree_bytes(redacted[mode]).values())
    for value in PLANTED:
        assert value.encode() not in blob, value
    # and none in the report of the same run, in any format
    for ext in ("jsonl", "csv", "html", "sarif"):
        report = tmp_path / f"r.{ext}"
        r = run_cli("redact", str(SAMPLES / "app.jsonl"), str(SAMPLES / "ci_job.log"),
                    "--out-dir", str(tmp_path / "o"), "--replace", mode, "-o", str(report))
        assert r.returncode == 1, r.stderr
        text = report.read_bytes() + r.stdout + r.stderr
        for value in PLANTED:
            assert value.encode() not in text, (ext, value)


@pytest.mark.parametrize("mode", [m.value for m in Replace])
def test_redacting_twice_changes_nothing(redacted: dict[str, Path], mode: str,
                                         tmp_path: Path) -> None:
    res = redact([redacted[mode]], out_dir=tmp_path, replace=mode, workers=1)
    assert res.replaced == 0
    again = tmp_path / redacted[mode].relative_to("/")
    assert tree_bytes(again) == tree_bytes(redacted[mode])


def test_lines_without_values_are_byte_identical(redacted: dict[str, Path]) -> None:
    for name, data in tree_bytes(SAMPLES).items():
        if name.endswith(".md"):
            continue
        out = (redacted["mask"] / name).read_bytes()
        before, after = data.split(b"\n"), out.split(b"\n")
        assert len(before) == len(after)
        found = scan([SAMPLES / name], workers=1).findings
        hits = found.filter(pl.col("rule_id").is_in(REWRITTEN))["line"].to_list()
        for i, (a, b) in enumerate(zip(before, after, strict=True), start=1):
            if i not in hits:
                assert a == b, (name, i)
            else:
                assert a != b, (name, i)


def test_replacement_modes(redacted: dict[str, Path]) -> None:
    line = (redacted["mask"] / "ci_job.log").read_text().splitlines()[4]
    assert line.endswith("GITHUB_TOKEN=ghp_********4xXH")  # what scan shows
    line = (redacted["label"] / "ci_job.log").read_text().splitlines()[4]
    assert line.endswith("GITHUB_TOKEN=[REDACTED:github-pat-classic]")
    text = (redacted["pseudonym"] / "app.jsonl").read_text()
    assert '"email":"<email-address#' in text
    assert '"password":"<generic-password#' in text
    tokens = re.findall(r"<[^<>\s]*>?", text)
    assert tokens and all(re.fullmatch(r"<[a-z0-9-]+#[0-9a-f]{12}>", t) for t in tokens), tokens


def test_pseudonyms_same_across_files_and_runs(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.log").write_text("login ok user=jane.doe@example.com\n")
    (tmp_path / "in" / "b.log").write_text("x\nmail sent to jane.doe@example.com, "
                                           "cc bob.smith@example.org\n")
    outs = []
    for run in range(2):
        redact([tmp_path / "in"], out_dir=tmp_path / f"o{run}", replace="pseudonym", workers=1)
        root = tmp_path / f"o{run}" / (tmp_path / "in").relative_to("/")
        outs.append(((root / "a.log").read_text(), (root / "b.log").read_text()))
    assert outs[0] == outs[1]
    a, b = outs[0]
    token = a.split("user=")[1].strip()
    assert token.startswith("<email-address#") and token in b
    assert b.count("<email-address#") == 2 and b.split("cc ")[1].strip() != token
    monkeypatch.setenv("LOGAUDIT_KEY", "another key")
    redact([tmp_path / "in"], out_dir=tmp_path / "o3", replace="pseudonym", workers=1)
    other = (tmp_path / "o3" / (tmp_path / "in").relative_to("/") / "a.log").read_text()
    assert other != a and "jane" not in other


LINE_PARTS = st.sampled_from([
    b"plain text", b"GET /index.html 200", b"\xff\xfe invalid utf-8 \xc3", b"",
    b"token=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", b"mail jane.doe@example.com now",
    b"card 4111 1111 1111 1111 ok", b"\t tabs \x1b[0m", b"ssn 536-90-4399",
])


@settings(max_examples=40, deadline=None)
@given(lines=st.lists(st.tuples(st.lists(LINE_PARTS, max_size=3),
                                st.sampled_from([b"\n", b"\r\n"])), max_size=30),
       last=st.sampled_from([b"", b"no newline at end", b"jane.doe@example.com"]))
def test_every_byte_outside_values_is_kept(tmp_path_factory: pytest.TempPathFactory,
                                           lines: list[tuple[list[bytes], bytes]],
                                           last: bytes) -> None:
    data = b"".join(b" ".join(parts) + end for parts, end in lines) + last
    d = tmp_path_factory.mktemp("h")
    (d / "x.log").write_bytes(data)
    redact([d / "x.log"], out_dir=d / "o", replace="label", workers=1)
    out = (d / "o" / (d / "x.log").relative_to("/")).read_bytes()
    assert out.count(b"\n") == data.count(b"\n")
    assert out.count(b"\r\n") == data.count(b"\r\n")
    for a, b in zip(data.split(b"\n"), out.split(b"\n"), strict=True):
        if b"[REDACTED:" not in b:
            assert a == b
        else:  # the raw values are gone, everything else is still there in order
            for raw in (b"ghp_u8jz", b"jane.doe", b"4111 1111", b"536-90"):
                assert raw not in b
    # and a second pass changes nothing
    redact([d / "o"], out_dir=d / "o2", replace="label", workers=1)
    assert (d / "o2" / (d / "o" / (d / "x.log").relative_to("/")).relative_to("/")
            ).read_bytes() == out


def test_stdin_gives_the_same_bytes_as_out_dir(redacted: dict[str, Path]) -> None:
    for name in ("app.jsonl", "payment_service.log"):
        r = run_cli("redact", "-", "-q", stdin=(SAMPLES / name).read_bytes())
        assert r.returncode == 1, r.stderr
        assert r.stdout == (redacted["mask"] / name).read_bytes()


def test_stdin_summary_names_standard_input() -> None:
    r = run_cli("redact", "-", stdin=(SAMPLES / "payment_service.log").read_bytes())
    line = r.stderr.decode().strip()
    assert "from standard input" in line and "0 file(s)" not in line, line
    assert line.count("logaudit:") == 1, line


COMPRESS = {
    "gz": (lambda b: gzip.compress(b, mtime=0), b"\x1f\x8b", gzip.decompress),
    "bz2": (bz2.compress, b"BZh", bz2.decompress),
    "xz": (lzma.compress, b"\xfd7zXZ", lzma.decompress),
    "zst": (lambda b: zstandard.ZstdCompressor().compress(b), b"\x28\xb5\x2f\xfd",
            lambda b: zstandard.ZstdDecompressor().decompressobj().decompress(b)),
}


@pytest.mark.parametrize("ext", list(COMPRESS))
def test_codec_in_gives_same_codec_out(redacted: dict[str, Path], tmp_path: Path,
                                       ext: str) -> None:
    comp, magic, decomp = COMPRESS[ext]
    src = tmp_path / f"app.jsonl.{ext}"
    src.write_bytes(comp((SAMPLES / "app.jsonl").read_bytes()))
    res = redact([src], out_dir=tmp_path / "o", workers=1)
    assert not res.incomplete
    out = (tmp_path / "o" / src.relative_to("/")).read_bytes()
    assert out.startswith(magic)
    assert decomp(out) == (redacted["mask"] / "app.jsonl").read_bytes()


def test_gz_on_stdin_gives_gz_on_stdout(redacted: dict[str, Path]) -> None:
    r = run_cli("redact", "-", "-q", stdin=gzip.compress((SAMPLES / "app.jsonl").read_bytes()))
    assert r.stdout[:2] == b"\x1f\x8b"
    assert gzip.decompress(r.stdout) == (redacted["mask"] / "app.jsonl").read_bytes()


def test_stdin_pipe_is_flushed_line_by_line() -> None:
    env = {**os.environ, "LOGAUDIT_KEY": "test-key"}
    p = subprocess.Popen([sys.executable, "-m", "logaudit", "redact", "-", "-q"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
    assert p.stdin is not None and p.stdout is not None
    try:
        for i in range(3):
            p.stdin.write(f"req {i} from jane.doe@example.com\n".encode())
            p.stdin.flush()
            # the line comes out while standard input is still open (a generous timeout
            # only guards against a hang; it is not a speed assertion)
            ready, _, _ = select.select([p.stdout], [], [], 60)
            assert ready, "no output while the pipe is open"
            assert p.stdout.readline() == f"req {i} from j***@example.com\n".encode()
    finally:
        p.stdin.close()
        p.wait(60)
    assert p.returncode == 1


def test_output_is_the_same_whatever_the_workers_and_ranges(tmp_path: Path) -> None:
    lines = [f"2026-01-01T00:00:{i % 60:02d}Z user{i}@example.com token=ghp_u8jzPde0Igx"
             f"Ld6GncfBAepfJBd0Kh8024xXH n={i}\n" if i % 7 == 0 else f"line {i} ok\r\n"
             for i in range(20000)]
    src = tmp_path / "big.log"
    src.write_text("".join(lines))
    outs = []
    for workers, split in ((1, 1 << 30), (2, 64 << 10), (3, 100_000)):
        res = redact([src], out_dir=tmp_path / f"o{workers}", workers=workers,
                     split_size=split, max_per_rule=0)
        assert not res.incomplete
        outs.append(((tmp_path / f"o{workers}" / src.relative_to("/")).read_bytes(),
                     res.findings.drop("run_id"), res.replaced))
    assert outs[0][0] == outs[1][0] == outs[2][0]
    assert outs[0][1].equals(outs[1][1]) and outs[0][1].equals(outs[2][1])
    assert outs[0][2] == outs[1][2] == outs[2][2] == 2 * len(range(0, 20000, 7))
    assert not list(tmp_path.rglob("*.logaudit-tmp"))


def test_value_across_an_overlong_line_window(tmp_path: Path) -> None:
    step = (1 << 20) - (16 << 10)  # the chunker's window step (max_line - overlap)
    token = b"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"
    line = b"x " * ((step - 20) // 2) + b"token=" + token + b" " + b"y " * 700_000
    src = tmp_path / "long.log"
    src.write_bytes(line + b"\nnext jane.doe@example.com\n")
    redact([src], out_dir=tmp_path / "o", workers=1)
    out = (tmp_path / "o" / src.relative_to("/")).read_bytes()
    assert out == src.read_bytes().replace(token, b"ghp_********4xXH").replace(
        b"jane.doe@example.com", b"j***@example.com")


def test_report_of_the_same_run_equals_scan(tmp_path: Path) -> None:
    r = run_cli("redact", str(SAMPLES), "--exclude", "*.md", "--out-dir", str(tmp_path / "o"),
                "-o", str(tmp_path / "r.parquet"))
    assert r.returncode == 1, r.stderr
    s = run_cli("scan", str(SAMPLES), "--exclude", "*.md", "-o", str(tmp_path / "s.parquet"))
    assert s.returncode == 1
    a = pl.read_parquet(tmp_path / "r.parquet").drop("run_id")
    b = pl.read_parquet(tmp_path / "s.parquet").drop("run_id")
    assert a.equals(b)
    assert b"redacted" in r.stderr and r.stdout == b""


def test_category_selects_what_is_replaced(tmp_path: Path) -> None:
    src = SAMPLES / "payment_service.log"
    redact([src], out_dir=tmp_path, category=["secret"], workers=1)
    out = (tmp_path / src.relative_to("/")).read_text()
    assert "4111 1111 1111 1111" in out  # PII left as is
    assert "c2hvcGJvdDpQYXk0UjNhbFN1bW1lcjIwMjQ=" not in out  # Basic credentials replaced


def test_unreadable_input_exit_3_and_no_partial_output(tmp_path: Path) -> None:
    good = gzip.compress((SAMPLES / "app.jsonl").read_bytes() * 50, mtime=0)
    src = tmp_path / "cut.log.gz"
    src.write_bytes(good[: len(good) // 2])
    ok = tmp_path / "ok.log"
    ok.write_bytes(b"fine\n")
    r = run_cli("redact", str(src), str(ok), str(tmp_path / "missing.log"), "--out-dir",
                str(tmp_path / "o"))
    assert r.returncode == 3
    err = r.stderr.decode()
    assert "cut.log.gz" in err and "truncated" in err and "missing.log" in err
    out = tmp_path / "o" / tmp_path.relative_to("/")
    assert sorted(p.name for p in out.iterdir()) == ["ok.log"]  # nothing partial, no temp
    assert "Traceback" not in err


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    for args in (["x.log"], ["x.log", "--in-place", "--out-dir", str(tmp_path)],
                 ["-", "x.log", "--out-dir", str(tmp_path)], ["-", "--replace", "nope"]):
        r = run_cli("redact", *args)
        assert r.returncode == 2, (args, r.stderr)
        assert b"Traceback" not in r.stderr


def test_out_dir_inside_the_input_is_not_read_back(tmp_path: Path) -> None:
    (tmp_path / "a.log").write_text("password=hunter2hunter2\n")
    for _ in range(2):
        res = redact([tmp_path], out_dir=tmp_path / "red", workers=1)
        assert res.written and all("/red/" in w for w in res.written)
        assert len(res.written) == 1
