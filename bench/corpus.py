"""Build the benchmark corpus (once, cached under bench/.corpus/) from bench/seed_lines.txt."""

from __future__ import annotations

import random
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".corpus"
SEED = HERE / "seed_lines.txt"
PLANT_RATE = 1 / 2000  # share of lines that hold a planted fake secret or PII
POOL_LINES = 300_000

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
_USERS = ["root", "admin", "oracle", "test", "ubuntu", "git", "deploy", "www-data", "postgres",
          "jenkins", "alice", "bob", "support", "guest", "nagios"]
_WORDS = ["orders", "billing", "gateway", "search", "auth", "cart", "catalog", "worker", "api",
          "frontend", "ledger", "notify", "media", "metrics", "sync"]
_PATHS = ["/", "/index.html", "/api/v1/orders", "/api/v2/users/me", "/login", "/cart/checkout",
          "/static/css/site.css", "/healthz", "/metrics", "/search", "/products/item",
          "/wp-login.php", "/favicon.ico", "/admin/reports/daily"]


def _generators(rng: random.Random) -> dict[str, object]:
    def ts_iso() -> str:
        return (f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:"
                f"{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}.{rng.randint(0, 999):03d}Z")

    return {
        "ts_syslog": lambda: f"{rng.choice(_MONTHS)} {rng.randint(1, 28):2d} "
                             f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:"
                             f"{rng.randint(0, 59):02d}",
        "ts_iso": ts_iso,
        "ts_hdfs": lambda: f"0811{rng.randint(10, 11)} {rng.randint(0, 235959):06d}",
        "ts_clf": lambda: f"{rng.randint(1, 28):02d}/{rng.choice(_MONTHS)}/2026:"
                          f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:"
                          f"{rng.randint(0, 59):02d} +0000",
        "ts_clf_err": lambda: f"Sun Dec {rng.randint(1, 28):02d} {rng.randint(0, 23):02d}:"
                              f"{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d} 2005",
        "ts_android": lambda: f"{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} "
                              f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:"
                              f"{rng.randint(0, 59):02d}.{rng.randint(0, 999):03d}",
        "ts_k8s": lambda: f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:"
                          f"{rng.randint(0, 59):02d}.{rng.randint(0, 999999):06d}",
        "ip": lambda: f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}."
                      f"{rng.randint(1, 254)}",
        "int": lambda: str(rng.randint(0, 99999)),
        "pid": lambda: str(rng.randint(100, 32767)),
        "ms": lambda: str(rng.randint(1, 4000)),
        "status": lambda: rng.choice(["200", "200", "200", "301", "304", "404", "500", "403"]),
        "method": lambda: rng.choice(["GET", "GET", "GET", "POST", "PUT", "DELETE"]),
        "user": lambda: rng.choice(_USERS),
        "word": lambda: rng.choice(_WORDS),
        "host": lambda: f"{rng.choice(_WORDS)}-{rng.randint(1, 40)}.prod.example.net",
        "path": lambda: rng.choice(_PATHS),
        "hex8": lambda: f"{rng.getrandbits(32):08x}",
        "hex32": lambda: f"{rng.getrandbits(128):032x}",
        "blk": lambda: str(rng.randint(-(2**62), 2**62)),
    }


def _templates() -> tuple[list[str], list[str]]:
    lines: list[str] = []
    planted: list[str] = []
    target = None
    for raw in SEED.read_text(encoding="utf-8").splitlines():
        if raw.startswith("#") or not raw.strip():
            continue
        if raw in ("[lines]", "[planted]"):
            target = lines if raw == "[lines]" else planted
            continue
        assert target is not None
        target.append(raw)
    return lines, planted


def _fill(template: str, gens: dict[str, object]) -> str:
    return _PLACEHOLDER.sub(lambda m: gens[m.group(1)]() if m.group(1) in gens  # type: ignore[operator]
                            else m.group(0), template)


def build(size: int, seed: int = 20261125) -> tuple[Path, Path, int]:
    """The plain and gzipped corpora of at least ``size`` bytes; returns their paths and the
    number of planted lines. Built once and cached."""
    CACHE.mkdir(exist_ok=True)
    plain = CACHE / f"corpus-{size >> 20}M.log"
    gzp = plain.with_suffix(".log.gz")
    stamp = plain.with_suffix(".planted")
    if plain.exists() and gzp.exists() and stamp.exists():
        return plain, gzp, int(stamp.read_text())
    rng = random.Random(seed)
    gens = _generators(rng)
    lines, planted = _templates()
    pool = [(_fill(rng.choice(lines), gens) + "\n").encode() for _ in range(POOL_LINES)]
    n_planted = 0
    tmp = plain.with_suffix(".tmp")
    written = 0
    with open(tmp, "wb") as out:
        while written < size:
            batch = rng.sample(pool, len(pool) // 4)
            for i in range(0, len(batch), int(1 / PLANT_RATE)):
                batch[i] = (_fill(rng.choice(planted), gens) + "\n").encode()
                n_planted += 1
            data = b"".join(batch)
            out.write(data)
            written += len(data)
    tmp.rename(plain)
    from isal import igzip

    with open(plain, "rb") as src, igzip.open(gzp.with_suffix(".tmp"), "wb",
                                              compresslevel=3) as dst:
        while block := src.read(8 << 20):
            dst.write(block)
    gzp.with_suffix(".tmp").rename(gzp)
    stamp.write_text(str(n_planted))
    return plain, gzp, n_planted


_B64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz/+"


def _payloads(rng: random.Random, n: int, width: int = 1000) -> list[bytes]:
    pool = bytes(rng.choice(_B64) for _ in range(1 << 16))
    return [pool[(i * 7919) % (len(pool) - width):][:width] for i in range(n)]


def build_b64(size: int, seed: int = 14) -> Path:
    """Lines each carrying a 1,000-character base64-like payload (``[A-Za-z/+]``)."""
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"b64-{size >> 20}M.log"
    if path.exists():
        return path
    rng = random.Random(seed)
    lines = [b"2026-03-01T02:00:00Z INFO upload id=%d body=%s\n" % (i, p)
             for i, p in enumerate(_payloads(rng, 4096))]
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as out:
        written = 0
        while written < size:
            block = b"".join(lines)
            out.write(block)
            written += len(block)
    tmp.rename(path)
    return path


def build_one_line(size: int, seed: int = 15) -> tuple[Path, str]:
    """One line of ``size`` bytes of base64-like payload with one GitHub token in the middle."""
    from logaudit.rules import load_builtin_rules

    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"one-line-{size >> 20}M.log"
    rule = next(r for r in load_builtin_rules() if "ghp_" in r.keywords)
    example = rule.examples[0].encode()
    value = next(rule.find(example))
    planted = b" " + example[value.secret_start:value.secret_end] + b" "
    if not path.exists():
        rng = random.Random(seed)
        body = b"".join(_payloads(rng, 64))
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as out:
            written = 0
            while written < size:
                if written >= size // 2 and planted:
                    out.write(planted)
                    written += len(planted)
                    planted = b""
                out.write(body)
                written += len(body)
            out.write(b"\n")
        tmp.rename(path)
    return path, rule.id
