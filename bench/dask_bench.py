"""Throughput of the Dask executor beside the local one, on the bench corpus.

Runs ``logaudit.scan`` on the plain (and gzipped) corpus built by ``bench/corpus.py`` (cached
under bench/.corpus/): the local executor at 1 and 2 workers, then a Dask ``LocalCluster`` on
127.0.0.1 with 1 and 2 single-threaded worker processes. The cluster is started before the
clock starts (a real cluster is already running); each figure is the best of ``--repeat`` runs
after one warm-up run that compiles the rules on every worker. MB/s are over the scan
(``counters.seconds``: planning, scheduling, reading, engine, merge).

    .venv/bin/python bench/dask_bench.py [--size-mib 256] [--repeat 2]

Needs ``pip install 'logaudit[dask]'``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import corpus  # noqa: E402


def _best(path: Path, repeat: int, **kwargs: object) -> tuple[float, int, int]:
    """(best scan seconds, bytes, findings) over ``repeat`` runs after one warm-up."""
    from logaudit.api import scan

    scan([str(path)], key=b"bench", **kwargs)  # type: ignore[arg-type]
    best = None
    for _ in range(repeat):
        res = scan([str(path)], key=b"bench", **kwargs)  # type: ignore[arg-type]
        if res.errors:
            raise SystemExit(f"bench: scan failed: {res.errors[0].path}: {res.errors[0].reason}")
        figs = (res.counters.seconds, res.counters.bytes_scanned, len(res.findings))
        best = figs if best is None or figs[0] < best[0] else best
    assert best is not None
    return best


def main() -> None:
    """Entry point (see the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mib", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=2, help="runs per figure; the best is kept")
    ap.add_argument("--no-gz", action="store_true", help="plain corpus only")
    a = ap.parse_args()
    try:
        import distributed
    except ImportError:
        raise SystemExit("bench: needs Dask: pip install 'logaudit[dask]'") from None
    from logaudit.executors import NO_DASHBOARD

    os.environ.setdefault("LOGAUDIT_KEY", "bench")
    plain, gzp, _ = corpus.build(a.size_mib << 20)
    inputs = [("plain", plain)] + ([] if a.no_gz else [("gz", gzp)])
    print(f"corpus: {plain.name} {plain.stat().st_size / 1e6:.0f} MB plain; "
          f"{os.cpu_count()} cores; best of {a.repeat} after a warm-up")
    rows: list[tuple[str, str, int, float, int]] = []
    for kind, path in inputs:
        for w in (1, 2):
            secs, nbytes, found = _best(path, a.repeat, workers=w)
            rows.append((kind, "local", w, nbytes / 1e6 / secs, found))
            print(f"{kind:5} local {w} worker(s): {rows[-1][3]:7.0f} MB/s  ({secs:.2f}s, "
                  f"{found} findings)", flush=True)
    for w in (1, 2):
        t0 = time.perf_counter()
        with distributed.LocalCluster(n_workers=w, threads_per_worker=1, processes=True,
                                      host="127.0.0.1", dashboard_address=None,
                                      silence_logs=logging.ERROR,
                                      scheduler_kwargs=NO_DASHBOARD) as lc:
            up = time.perf_counter() - t0
            for kind, path in inputs:
                secs, nbytes, found = _best(path, a.repeat, executor="dask",
                                            scheduler=lc.scheduler_address, workers=w)
                rows.append((kind, "dask", w, nbytes / 1e6 / secs, found))
                print(f"{kind:5} dask  {w} worker(s): {rows[-1][3]:7.0f} MB/s  ({secs:.2f}s, "
                      f"{found} findings; cluster start {up:.1f}s not counted)", flush=True)
    by = {(k, e, w): mbs for k, e, w, mbs, _ in rows}
    print("\nratios")
    for kind, _ in inputs:
        d1, d2 = by[(kind, "dask", 1)], by[(kind, "dask", 2)]
        print(f"  {kind:5} dask/local at 1 worker: {d1 / by[(kind, 'local', 1)]:.2f}x   "
              f"at 2: {d2 / by[(kind, 'local', 2)]:.2f}x   dask 2/1: {d2 / d1:.2f}x")
        if len({f for k, *_, f in rows if k == kind}) != 1:
            print(f"WARNING: the executors found different numbers of findings on {kind}")


if __name__ == "__main__":
    main()
