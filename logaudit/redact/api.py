"""``redact(paths, ...)``: the scan pipeline with a rewriter at its end (sources → engine →
findings → rewriter → sinks). Findings are those a ``scan`` with the same options reports."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from logaudit.api import ScanResult, new_run_id
from logaudit.engine.prefilter import engine_name
from logaudit.errors import ConfigError
from logaudit.findings import load_key
from logaudit.fsio import same_file
from logaudit.logs import event
from logaudit.redact.tasks import (
    RedactOptions,
    RedactTaskResult,
    executor,
    join_parts,
    output_path,
)
from logaudit.reports.frame import to_frame
from logaudit.rules import claimant_rules, select_rules
from logaudit.runner import (
    DEFAULT_SPLIT,
    ProgressFn,
    ScanOptions,
    default_workers,
    run,
)
from logaudit.settings import RedactSettings, from_arguments
from logaudit.sources.chunking import DEFAULT_BLOCK
from logaudit.sources.interface import InputError, InputRef
from logaudit.sources.remote import is_url
from logaudit.sources.walk import discover

# In place, a file is one task: it is followed while it grows, then renamed over.
_NO_SPLIT = 1 << 62


@dataclass
class RedactResult(ScanResult):
    """A scan's result plus what the redaction wrote."""

    replaced: int = 0
    written: list[str] = field(default_factory=list)


def _inside(path: str, root: str) -> bool:
    try:
        return os.path.commonpath([os.path.realpath(path), root]) == root
    except ValueError:
        return False


def _below_any(root: str, names: Sequence[str]) -> bool:
    """Whether some named local input lies at or below ``root``."""
    return any(_inside(n, root) for n in names if n != "-" and not is_url(n))


def redact(
    paths: Sequence[str | Path],
    settings: RedactSettings | None = None,
    *,
    key: bytes | None = None,
    run_id: str | None = None,
    progress: ProgressFn | None = None,
    block_size: int = DEFAULT_BLOCK,
    split_size: int = DEFAULT_SPLIT,
    **options: Any,
) -> RedactResult:
    """Write redacted copies of ``paths`` and return the findings of the same pass.

    ``settings`` holds every option of ``logaudit redact`` (:class:`RedactSettings`), or give
    them as keyword arguments named like its fields (``out_dir="red", replace="pseudonym",
    workers=2``). Exactly one destination: ``out_dir`` (a mirrored tree; relative paths kept),
    ``in_place`` (each file rewritten beside itself and renamed over), or ``paths == ["-"]``
    (standard input to standard output). Each value of a secret or PII finding (and of an
    error rule whose group is a value) is replaced as ``replace`` says; every other byte is
    kept. An input that could not be read or written is listed in ``errors`` and leaves no
    output under its final name. Raises :class:`ConfigError` on a bad option or rule file.
    """
    if settings is None:
        settings = from_arguments(RedactSettings, options)
    elif options:
        raise TypeError("redact(): give RedactSettings or keyword options, not both")
    s = settings
    names = [str(p) for p in paths]
    stdin = names == ["-"]
    if sum((s.out_dir is not None, s.in_place, stdin)) != 1 or ("-" in names and not stdin):
        raise ConfigError("redact needs exactly one destination: --out-dir DIR, --in-place, "
                          "or - alone (standard input to standard output)")
    replace = s.replace
    in_place = s.in_place
    if in_place and any("://" in n for n in names):
        raise ConfigError("--in-place works on local files only; use --out-dir for URLs")
    out_root = os.path.realpath(s.out_dir) if s.out_dir is not None else None
    if out_root is not None:
        try:
            os.makedirs(out_root, exist_ok=True)
        except OSError as e:
            raise ConfigError(f"{s.out_dir}: cannot create the output directory "
                              f"({e.strerror})") from None
    backend = s.engine.value
    selected = select_rules(s.selection)
    opts = ScanOptions(
        rules=tuple(selected), run_id=run_id or new_run_id(),
        key=key if key is not None else load_key(), backend=backend,
        block_size=block_size, scan_binary=s.scan_binary, limits=s.limits,
        split_size=_NO_SPLIT if in_place else split_size, max_per_rule=s.max_per_rule,
        claimants=tuple(claimant_rules(s.selection, selected)),
    )
    ropts = RedactOptions(replace, s.out_dir, in_place)
    include, exclude = s.include, s.exclude
    started = datetime.now(timezone.utc)
    engine = engine_name(backend)
    nworkers = s.workers or default_workers()
    event("redact.start", opts.run_id, paths=len(names), rules=len(selected), engine=engine,
          workers=nworkers, replace=replace.value, in_place=in_place)

    def items() -> list[InputRef | InputError]:
        found = list(discover(names, include, exclude))
        if out_root is None or s.out_dir is None:
            return found

        def local(i: InputRef | InputError) -> str | None:
            return i.fs_path if isinstance(i, InputRef) and not is_url(i.path) else None

        # Never read what this run writes: copies an earlier run left in the out-dir. An
        # out-dir inside an input directory is skipped whole; one that holds the inputs
        # themselves (--out-dir .) only where a file is the copy of an input — skipping
        # everything below it would report a clean run of nothing.
        nested = not _below_any(out_root, names)
        copies = {os.path.realpath(output_path(out_root, i.path)) for i in found if local(i)}
        out: list[InputRef | InputError] = []
        for item in found:
            fs_path = local(item)
            if fs_path is not None:
                if same_file(output_path(s.out_dir, item.path), fs_path):
                    raise ConfigError(
                        f"{s.out_dir}: --out-dir would write the copy of {item.path} over "
                        f"{item.path} itself; choose an --out-dir outside the inputs' paths")
                if _inside(fs_path, out_root) and (nested or os.path.realpath(fs_path) in copies):
                    continue
            out.append(item)
        return out

    seen: list[RedactTaskResult] = []
    findings, errors, counters = run(items(), opts, nworkers, progress,
                                     execute=executor(ropts, seen.append))
    written = [r.output for r in seen if r.output]
    replaced = sum(r.replaced for r in seen)
    by_path: dict[str, list[RedactTaskResult]] = {}
    for r in seen:
        if r.parts > 1:
            by_path.setdefault(r.path, []).append(r)
    for parts in by_path.values():
        out, err = join_parts(parts)
        if out:
            written.append(out)
        if err:
            errors.append(err)
    counters.inputs_failed = len({e.path.split("!")[0] for e in errors if e.kind == "error"})
    for err in errors:
        event("input." + err.kind, opts.run_id, logging.WARNING, path=err.path, reason=err.reason)
    event("redact.end", opts.run_id, replaced=replaced, written=len(written),
          **counters.as_dict())
    return RedactResult(
        findings=to_frame(findings), errors=errors, counters=counters, run_id=opts.run_id,
        started=started, finished=datetime.now(timezone.utc), engine=engine,
        rules=len(selected), extra={"redact": {"replace": replace.value, "replaced": replaced,
                                               "written": len(written)}},
        replaced=replaced, written=sorted(written),
    )
