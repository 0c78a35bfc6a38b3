"""Object-storage inputs (fsspec URLs): a moto S3 server on loopback holds plain, gzip and tar.gz
objects; scanning them gives the rows a local scan of the same files gives. Errors are rows,
never crashes, and never quote a credential."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("s3fs", reason="needs the s3 extra: pip install 'logaudit[s3]'")
pytest.importorskip("moto", reason="needs moto[server] (test extra)")

import fsspec  # noqa: E402
from fsspec.implementations.memory import MemoryFileSystem  # noqa: E402
from moto_s3 import BUCKET, FAKE_SECRET, S3, jsonl_rows, rows  # noqa: E402

from logaudit.api import scan  # noqa: E402
from logaudit.errors import ConfigError  # noqa: E402
from logaudit.sources import remote  # noqa: E402

SPLIT = 64 << 10  # big/errors.log (~700 KB) becomes ~11 byte ranges








def test_s3_scan_matches_local_scan(s3: S3, local_tree: Path) -> None:
    got = scan([f"s3://{BUCKET}/"], workers=2, split_size=SPLIT)
    want = scan([str(local_tree)], workers=2, split_size=SPLIT)
    assert not got.errors and not want.errors
    assert rows(got, f"s3://{BUCKET}/") == rows(want, f"{local_tree}/")
    paths = set(got.findings["path"])
    assert f"s3://{BUCKET}/app/syslog.log.gz" in paths
    assert any(p.startswith(f"s3://{BUCKET}/archive/bundle.tar.gz!") for p in paths)
    assert got.counters.inputs_scanned == len(s3.objects)
    assert got.counters.bytes_scanned == want.counters.bytes_scanned


def test_split_size_does_not_change_s3_findings(s3: S3) -> None:
    url = f"s3://{BUCKET}/big/errors.log"
    whole = scan([url], workers=1)
    split = scan([url], workers=2, split_size=SPLIT)
    assert rows(whole, "s3://") == rows(split, "s3://")
    assert len(whole.findings) > 0


def test_include_exclude_apply_to_keys(s3: S3) -> None:
    res = scan([f"s3://{BUCKET}/"], exclude=["skip/*", "*.tar.gz"], workers=1)
    paths = set(res.findings["path"])
    assert not any("/skip/" in p or ".tar.gz" in p for p in paths)
    assert f"s3://{BUCKET}/app/payment_service.log" in paths
    only_gz = scan([f"s3://{BUCKET}/"], include=["*.gz"], exclude=["archive"], workers=1)
    assert set(only_gz.findings["path"]) == {f"s3://{BUCKET}/app/syslog.log.gz"}


@pytest.mark.parametrize("url", [f"s3://{BUCKET}/no/such/prefix/", "s3://no-such-bucket/",
                                 f"s3://{BUCKET}/app/missing.log"])
def test_missing_bucket_prefix_or_object_is_an_error(s3: S3, url: str) -> None:
    res = scan([url], workers=1)
    assert res.incomplete
    assert [(e.path, e.kind) for e in res.errors] == [(url, "error")]
    assert "no such bucket" in res.errors[0].reason


def test_object_identity(s3: S3) -> None:
    ident = remote.stat_object(f"s3://{BUCKET}/app/payment_service.log",
                               remote.with_endpoint(["s3://x"], {}))
    assert ident["size"] == len(s3.objects["app/payment_service.log"])
    assert ident["etag"] and not ident["etag"].startswith('"')
    assert ident["last_modified"] and ident["last_modified"][:2] == "20"
    assert remote.object_identity({"size": 3, "mtime": 1.5}) == {
        "etag": None, "size": 3, "last_modified": "1.5"}


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    e = {**os.environ, "LOGAUDIT_KEY": "test-key", **(env or {})}
    return subprocess.run([sys.executable, "-m", "logaudit", "scan", *args], capture_output=True,
                          text=True, env=e, timeout=300)




def test_cli_s3_with_storage_option_endpoint(s3: S3, local_tree: Path) -> None:
    # The endpoint comes from --storage-option here, not the environment.
    env = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"}
    got = subprocess.run(
        [sys.executable, "-m", "logaudit", "scan", f"s3://{BUCKET}/", "--format", "jsonl",
         "--exclude", "skip/*", "--storage-option", f"endpoint_url={s3.endpoint}", "-j", "1"],
        capture_output=True, text=True, env={**env, "LOGAUDIT_KEY": "test-key"}, timeout=300)
    want = _cli(str(local_tree), "--format", "jsonl", "--exclude", "skip", "-j", "1")
    assert got.returncode == want.returncode == 1, got.stderr
    assert jsonl_rows(got.stdout, f"s3://{BUCKET}/") == jsonl_rows(want.stdout,
                                                                      f"{local_tree}/")
    assert FAKE_SECRET not in got.stdout + got.stderr


def test_cli_missing_bucket_exit_3_one_line(s3: S3) -> None:
    res = _cli("s3://no-such-bucket/logs/", "--storage-option", f"secret={FAKE_SECRET}",
               "--quiet")
    assert res.returncode == 3
    assert "s3://no-such-bucket/logs/" in res.stderr and "Traceback" not in res.stderr
    assert FAKE_SECRET not in res.stdout + res.stderr


def test_cli_bad_storage_option_exit_2_not_echoed() -> None:
    res = _cli("s3://b/", "--storage-option", FAKE_SECRET)
    assert res.returncode == 2
    assert "KEY=VALUE" in res.stderr and FAKE_SECRET not in res.stderr


def test_file_url_matches_local_path(local_tree: Path) -> None:
    got = scan([local_tree.as_uri() + "/"], workers=1, split_size=SPLIT)
    want = scan([str(local_tree)], workers=1, split_size=SPLIT)
    assert rows(got, f"{local_tree.as_uri()}/") == rows(want, f"{local_tree}/")


# ---------------------------------------------------------------- failures (fake filesystems)


class FakeFS(MemoryFileSystem):  # type: ignore[misc]
    """An in-memory filesystem under its own protocol."""

    @classmethod
    def _strip_protocol(cls, path: str) -> str:
        return "/" + path.split("://", 1)[-1].strip("/")


class DeniedFS(FakeFS):
    """Lists fine, refuses every read (an object the credentials may list but not get)."""

    protocol = "deniedfs"

    def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
        raise PermissionError(13, f"AccessDenied for key {FAKE_SECRET}")


class ThrottledFile:
    """Reads a little, then fails as a store does once its retries give up."""

    def __init__(self) -> None:
        self.calls = 0

    def read(self, n: int = -1) -> bytes:
        self.calls += 1
        if self.calls == 1:
            return b"2024-01-01 ok line\n"
        raise RuntimeError(f"SlowDown: reduce your request rate (token={FAKE_SECRET})")

    def seek(self, *a: Any) -> int:
        return 0

    def tell(self) -> int:
        return 0

    def close(self) -> None:
        pass


class ThrottledFS(FakeFS):
    """Every read ends in a throttling error."""

    protocol = "throttledfs"

    def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
        return ThrottledFile()


@pytest.fixture
def fake_fs() -> Iterator[None]:
    """Register the fake filesystems, each holding one object."""
    for cls in (DeniedFS, ThrottledFS):
        fsspec.register_implementation(cls.protocol, cls, clobber=True)
        MemoryFileSystem().pipe(f"/{cls.protocol}-bucket/app.log", b"hello\n" * 10)
    yield
    MemoryFileSystem.store.clear()
    MemoryFileSystem.pseudo_dirs[:] = [""]


def test_permission_denied_is_an_error_row(fake_fs: None) -> None:
    res = scan(["deniedfs://deniedfs-bucket/"], workers=1,
               storage_options={"key": FAKE_SECRET})
    assert res.incomplete
    [err] = res.errors
    assert err.path.endswith("deniedfs-bucket/app.log")  # the object, not the prefix
    assert "access denied" in err.reason and FAKE_SECRET not in err.reason


def test_throttling_after_retries_is_an_error_row_without_secrets(fake_fs: None) -> None:
    res = scan(["throttledfs://throttledfs-bucket/app.log"], workers=1)
    assert res.incomplete
    [err] = res.errors
    assert "SlowDown" in err.reason and "read error" in err.reason
    assert FAKE_SECRET not in err.reason and "token=***" in err.reason


# ---------------------------------------------------------------- options, scrubbing, extras


def test_parse_storage_options() -> None:
    got = remote.parse_storage_options(["anon=false", "client_kwargs.region_name=eu-west-1",
                                        "default_block_size=1048576", "key=a=b"])
    assert got == {"anon": False, "client_kwargs": {"region_name": "eu-west-1"},
                   "default_block_size": 1048576, "key": "a=b"}
    assert remote.thaw(remote.freeze(got)) == got
    with pytest.raises(ConfigError) as e:
        remote.parse_storage_options([FAKE_SECRET])
    assert FAKE_SECRET not in str(e.value)


def test_scrub(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SESSION_TOKEN", "sess-token-value-123")
    text = ("s3://user:pa55word@bucket/k https://h/o?X-Amz-Signature=abcdef&x=1 "
            f"{FAKE_SECRET} sess-token-value-123")
    out = remote.scrub(text, remote.freeze({"secret": FAKE_SECRET}))
    for raw in ("pa55word", "abcdef", FAKE_SECRET, "sess-token-value-123"):
        assert raw not in out
    assert "x=1" in out and "bucket/k" in out
    endpoint = remote.freeze({"endpoint_url": "http://minio.internal:9000", "key": "AKIA1234"})
    assert remote.scrub("at http://minio.internal:9000 as AKIA1234", endpoint) == \
        "at http://minio.internal:9000 as ***"
    assert remote.display_url("s3://user:pw@bucket/k") == "s3://bucket/k"


def test_endpoint_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    assert remote.with_endpoint(["s3://b/"], {}) == {"endpoint_url": "http://127.0.0.1:9"}
    assert remote.with_endpoint(["/var/log"], {}) == {}
    assert remote.with_endpoint(["s3://b/"], {"endpoint_url": "x"}) == {"endpoint_url": "x"}


def test_missing_fsspec_is_config_error_with_install_command(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "fsspec.core", None)
    with pytest.raises(ConfigError, match=r"pip install 'logaudit\[s3\]'"):
        scan(["s3://bucket/"], workers=1)


def test_missing_protocol_package_is_config_error() -> None:
    try:
        import gcsfs  # noqa: F401
    except ImportError:
        with pytest.raises(ConfigError, match=r"pip install 'logaudit\[gcs\]'"):
            scan(["gs://bucket/logs/"], workers=1)
    else:  # pragma: no cover - depends on what is installed
        pytest.skip("gcsfs is installed")


def test_scan_options_repr_hides_storage_options() -> None:
    from logaudit.runner import ScanOptions

    opts = ScanOptions(rules=(), run_id="r", key=b"k",
                       storage_options=remote.freeze({"secret": FAKE_SECRET}))
    assert FAKE_SECRET not in repr(opts)


def test_state_for_objects_scans_only_new_or_changed_objects(s3: S3, tmp_path: Path) -> None:
    """--state over a bucket: identity = ETag + size + last-modified."""
    import boto3

    state = str(tmp_path / "state.json")
    first = scan([f"s3://{BUCKET}/"], workers=1, state=state)
    assert not first.errors and len(first.findings)
    first.commit_state()
    again = scan([f"s3://{BUCKET}/"], workers=1, state=state)
    assert again.findings.is_empty() and again.extra["state"]["inputs_unchanged"] == len(
        s3.objects)
    again.commit_state()
    client = boto3.client("s3", endpoint_url=s3.endpoint)
    client.put_object(Bucket=BUCKET, Key="new/today.log",
                      Body=b"2026-11-25T02:00:00Z signup maria@example.org\n")
    try:
        third = scan([f"s3://{BUCKET}/"], workers=1, state=state)
        assert third.findings["path"].to_list() == [f"s3://{BUCKET}/new/today.log"]
    finally:
        client.delete_object(Bucket=BUCKET, Key="new/today.log")
