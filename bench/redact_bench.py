"""``make bench`` (redaction rows): ``redact`` MB/s against ``scan`` MB/s on the same corpus, and
the per-record cost of ``logaudit.RedactingFilter`` on a clean and on a dirty record.

Whole processes (the CLI, start-up included), one worker and N workers, plain and gzip; the
redacted copies go to a temporary directory on the same disk as the corpus.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import corpus  # noqa: E402

LOGAUDIT = [sys.executable, "-m", "logaudit"]


def timed(args: list[str]) -> float:
    """Seconds one run of the CLI takes (exit 0 or 1 expected)."""
    env = {**os.environ, "LOGAUDIT_KEY": "bench-key"}
    t = time.perf_counter()
    r = subprocess.run(LOGAUDIT + args, capture_output=True, env=env)
    secs = time.perf_counter() - t
    if r.returncode not in (0, 1):
        raise SystemExit(f"logaudit {' '.join(args)}: exit {r.returncode}: "
                         f"{r.stderr.decode(errors='replace')[-400:]}")
    return secs


def throughput(path: Path, workers: int, repeat: int) -> tuple[float, float]:
    """(scan MB/s, redact MB/s), best of ``repeat``, on the decoded size of ``path``."""
    size = corpus_plain_size
    scan = min(timed(["scan", str(path), "-j", str(workers), "-q"]) for _ in range(repeat))
    best = float("inf")
    for _ in range(repeat):
        out = Path(tempfile.mkdtemp(prefix="redact-bench-", dir=path.parent))
        try:
            best = min(best, timed(["redact", str(path), "--out-dir", str(out), "-j",
                                    str(workers), "-q"]))
        finally:
            shutil.rmtree(out, ignore_errors=True)
    return size / 1e6 / scan, size / 1e6 / best


def filter_overhead(n: int = 20000) -> tuple[float, float, float]:
    """µs per record: a formatted record without the filter, then the filter's extra cost on a
    clean and on a dirty record."""
    import logaudit

    def per_record(with_filter: bool, msg: str, args: tuple[object, ...]) -> float:
        handler = logging.StreamHandler(io.StringIO())
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        if with_filter:
            handler.addFilter(logaudit.RedactingFilter(key=b"bench-key"))
        log = logging.getLogger(f"bench-{with_filter}-{len(msg)}")
        log.handlers[:] = [handler]
        log.propagate = False
        log.setLevel(logging.INFO)
        for _ in range(200):  # warm up (engine built, caches filled)
            log.info(msg, *args)
        t = time.perf_counter()
        for _ in range(n):
            log.info(msg, *args)
        return (time.perf_counter() - t) / n * 1e6

    clean = ("GET /api/v1/orders/%d 200 in %d ms user_agent=%s", (48213, 12, "python-requests"))
    dirty = ("login ok for %s with token %s", ("jane.doe@example.com",
                                               "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"))
    base = min(per_record(False, *clean) for _ in range(3))
    c = min(per_record(True, *clean) for _ in range(3)) - base
    d = min(per_record(True, *dirty) for _ in range(3)) - min(per_record(False, *dirty)
                                                                  for _ in range(3))
    return base, c, d


corpus_plain_size = 0


def main() -> None:
    """Entry point (see the module docstring)."""
    global corpus_plain_size
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size-mib", type=int, default=256)
    ap.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--repeat", type=int, default=1, help="runs per figure; the best is kept")
    a = ap.parse_args()
    plain, gzp, planted = corpus.build(a.size_mib << 20)
    corpus_plain_size = plain.stat().st_size
    print(f"redact: corpus {plain.name} {corpus_plain_size / 1e6:.0f} MB, {planted} planted "
          "lines; whole processes, MB/s of decoded log")
    print(f"{'input':<8}{'workers':>8}{'scan MB/s':>12}{'redact MB/s':>13}{'ratio':>8}")
    for path, label in ((plain, "plain"), (gzp, "gzip")):
        for w in sorted({1, a.workers}):
            s, r = throughput(path, w, a.repeat)
            print(f"{label:<8}{w:>8}{s:>12.0f}{r:>13.0f}{r / s:>8.2f}")
    base, clean, dirty = filter_overhead()
    print(f"RedactingFilter: a formatted record costs {base:.1f} µs without it; the filter adds "
          f"{clean:.1f} µs on a clean record, {dirty:.1f} µs on a dirty one")


if __name__ == "__main__":
    main()
