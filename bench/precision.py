"""Precision on a large synthetic corpus: every finding on lines without a planted item is a
false positive. Builds (once, cached under bench/.corpus/) at least ``--size-mib`` MiB of
realistic log lines — the benchmark templates with no planted items, and real log lines kept in
tests/assets (Loghub samples) with their digits and hex re-drawn — scans it with the ``strict``
pack and prints the findings per rule. Run: ``.venv/bin/python bench/precision.py``.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import corpus  # noqa: E402

REAL = [ROOT / "tests/assets/secrets_part2/real_logs_sample.log",
        ROOT / "tests/assets/secrets_part1/loghub_sample.log",
        ROOT / "tests/assets/errors/real_lines.log"]
_DIGITS = re.compile(rb"\d")
_HEXRUN = re.compile(rb"\b[0-9a-f]{6,}\b")


def build(size: int, seed: int = 7) -> Path:
    """The precision corpus (no planted items), built once."""
    out_path = corpus.CACHE / f"precision-{size >> 20}M.log"
    if out_path.exists():
        return out_path
    corpus.CACHE.mkdir(exist_ok=True)
    rng = random.Random(seed)
    gens = corpus._generators(rng)
    lines, _planted = corpus._templates()
    pool = [(corpus._fill(rng.choice(lines), gens) + "\n").encode() for _ in range(150_000)]
    real = [ln for p in REAL if p.exists() for ln in p.read_bytes().splitlines(keepends=True)
            if ln.strip() and not ln.startswith(b"#")]
    for _ in range(150_000):
        ln = rng.choice(real)
        ln = _DIGITS.sub(lambda m: b"%d" % rng.randint(0, 9), ln)
        ln = _HEXRUN.sub(lambda m: b"%x" % rng.getrandbits(4 * len(m.group())), ln)
        pool.append(ln)
    tmp = out_path.with_suffix(".tmp")
    written = 0
    with open(tmp, "wb") as out:
        while written < size:
            data = b"".join(rng.sample(pool, len(pool) // 3))
            out.write(data)
            written += len(data)
    tmp.rename(out_path)
    return out_path


def main() -> None:
    """Build, scan with the strict pack, print findings per rule."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--pack", default="strict")
    a = ap.parse_args()
    t0 = time.perf_counter()
    path = build(a.size_mib << 20)
    print(f"corpus: {path.name} {path.stat().st_size / 1e6:.0f} MB "
          f"(ready in {time.perf_counter() - t0:.0f}s)")
    from logaudit.api import scan

    t0 = time.perf_counter()
    res = scan([path], pack=a.pack, key=b"precision")
    secs = time.perf_counter() - t0
    print(f"scanned with pack {a.pack!r} ({res.rules} rules) in {secs:.1f}s: "
          f"{len(res.findings)} findings, {len(res.errors)} errors")
    by = Counter(zip(res.findings["category"].to_list(), res.findings["rule_id"].to_list(),
                     strict=True))
    for (cat, rule), n in sorted(by.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  {cat:10} {rule:40} {n:8d}  ({n / (path.stat().st_size / 1e6):.3f}/MB)")
    if not by:
        print("  (no findings)")


if __name__ == "__main__":
    main()
