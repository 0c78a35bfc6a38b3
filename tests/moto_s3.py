"""A moto S3 server on 127.0.0.1 (random free port) holding plain, gzip and tar.gz log objects,
and the same files laid out on disk, for comparing object-storage scans with local ones."""

from __future__ import annotations

import gzip
import io
import logging
import os
import socket
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_logs"
BUCKET = "logs"
# Credentials for the fake server only; the value is also used to check that none leaks.
FAKE_SECRET = "moto-fake-secret-4f1d9c"


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tar_gz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def corpus() -> dict[str, bytes]:
    """Key → bytes: plain, gzip, tar.gz, one larger plain object (split into byte ranges when
    ``split_size`` is small) and one object the tests exclude."""
    sample = {p.name: p.read_bytes() for p in SAMPLES.rglob("*.log")}
    big = b"".join(sample[n] for n in sorted(sample)) * 40
    return {
        "app/payment_service.log": sample["payment_service.log"],
        "app/syslog.log.gz": gzip.compress(sample["syslog.log"], mtime=0),
        "archive/bundle.tar.gz": _tar_gz({"web/web_access.log": sample["web_access.log"],
                                          "ci/ci_job.log": sample["ci_job.log"]}),
        "big/errors.log": big,
        "skip/db_errors.log": sample["db_errors.log"],
    }


def write_tree(root: Path, objects: dict[str, bytes]) -> None:
    """Lay ``objects`` out under ``root`` with the same relative paths as their keys."""
    for key, data in objects.items():
        p = root / key
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)


@dataclass
class S3:
    """A running fake S3: its endpoint and the objects in :data:`BUCKET`."""

    endpoint: str
    objects: dict[str, bytes]


@contextmanager
def moto_s3() -> Iterator[S3]:
    """Start moto's S3 server on loopback, fill the bucket, set the AWS environment (fake
    credentials, ``AWS_ENDPOINT_URL``); stop it and restore the environment after."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": FAKE_SECRET,
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint}
    saved = {k: os.environ.get(k) for k in [*env, "AWS_PROFILE", "AWS_SESSION_TOKEN"]}
    os.environ.update(env)
    for k in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(k, None)
    try:
        import boto3

        client = boto3.client("s3", endpoint_url=endpoint)
        client.create_bucket(Bucket=BUCKET)
        objects = corpus()
        for key, data in objects.items():
            client.put_object(Bucket=BUCKET, Key=key, Body=data)
        yield S3(endpoint, objects)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        server.stop()


def rows(res: Any, prefix: str) -> list[dict[str, Any]]:
    """Findings as comparable dicts: run id dropped, paths relative to ``prefix``."""
    out = []
    for r in res.findings.drop("run_id").to_dicts():
        assert r["path"].startswith(prefix), r["path"]
        r["path"] = r["path"][len(prefix):]
        out.append(r)
    return out


def jsonl_rows(text: str, prefix: str) -> list[dict[str, Any]]:
    """JSONL report rows, comparable: run id dropped, paths relative to ``prefix``, sorted."""
    import json

    out = []
    for line in text.splitlines():
        r = json.loads(line)
        r.pop("run_id")
        r["path"] = r["path"].removeprefix(prefix)
        out.append(r)
    return sorted(out, key=json.dumps)
