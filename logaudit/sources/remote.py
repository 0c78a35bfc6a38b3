"""Inputs that live in object storage (or anywhere fsspec reaches): ``s3://``, ``gs://``,
``az://``, ``file://`` URLs.

Discovery lists objects recursively and applies ``--include``/``--exclude`` to their keys;
opening returns a seekable binary file (ranged reads), so the same codec, archive and byte-range
handling as for local files applies. Credentials come from each provider's usual chain
(environment, config files, instance roles) plus ``--storage-option KEY=VALUE``; no message this
module produces may quote a credential, so every one goes through :func:`scrub`.

fsspec and the protocol's implementation (s3fs, gcsfs, adlfs) are optional extras, imported only
when a URL is given.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import posixpath
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from logaudit.errors import ConfigError
from logaudit.scrub import option_secrets, scrub_message, scrub_url, strip_userinfo
from logaudit.sources.interface import InputError, InputRef

_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]+)://")
# protocol → (the logaudit extra that brings it, the package that implements it)
_EXTRAS = {
    "s3": ("s3", "s3fs"), "s3a": ("s3", "s3fs"),
    "gs": ("gcs", "gcsfs"), "gcs": ("gcs", "gcsfs"),
    "az": ("azure", "adlfs"), "abfs": ("azure", "adlfs"), "abfss": ("azure", "adlfs"),
}

# Ranged reads of this size: few requests per scanned block, bounded memory.
READ_BLOCK = 8 << 20

StorageOptions = tuple[tuple[str, Any], ...]
"""Storage options frozen into a hashable, picklable form (see :func:`freeze`)."""


def is_url(path: str) -> bool:
    """True for an fsspec URL (``proto://…``), False for a local path or ``-``."""
    return _URL.match(path) is not None


def protocol(url: str) -> str:
    """The URL's protocol, lower-case (``s3``)."""
    m = _URL.match(url)
    return m.group(1).lower() if m else "file"


def display_url(url: str) -> str:
    """``url`` without any ``user:password@`` part and with signed-URL parameters masked: the
    form shown in reports and errors."""
    return scrub_url(strip_userinfo(url))


# ---------------------------------------------------------------- options and secrets


def _value(text: str) -> Any:
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_storage_options(pairs: Sequence[str]) -> dict[str, Any]:
    """``["KEY=VALUE", "client_kwargs.region_name=eu-west-1"]`` → a (nested) options dict.

    ``true``/``false`` and numbers are converted; a dotted key makes a nested dict.
    Raises :class:`ConfigError` naming the key only (a value may be a secret).
    """
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, val = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            # Not echoed: a mistyped option may be a bare secret.
            raise ConfigError("--storage-option: expected KEY=VALUE with a non-empty KEY")
        node = out
        *parents, leaf = key.split(".")
        for p in parents:
            child = node.setdefault(p, {})
            if not isinstance(child, dict):
                raise ConfigError(f"--storage-option: {key!r} conflicts with {p!r}")
            node = child
        node[leaf] = _value(val)
    return out


def with_endpoint(paths: Sequence[str], options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` plus the S3 endpoint from ``AWS_ENDPOINT_URL_S3``/``AWS_ENDPOINT_URL`` when an
    ``s3://`` path is given and no endpoint is set, so the driver and every worker (which may not
    share the driver's environment) talk to the same S3-compatible store."""
    opts = dict(options)
    if any(is_url(p) and protocol(p) in ("s3", "s3a") for p in paths) \
            and "endpoint_url" not in opts:
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        if endpoint:
            opts["endpoint_url"] = endpoint
    return opts


def freeze(options: Mapping[str, Any]) -> StorageOptions:
    """A hashable form of an options dict (nested dicts become nested pairs)."""
    return tuple(sorted((k, freeze(v) if isinstance(v, Mapping) else v)
                        for k, v in options.items()))


def thaw(frozen: StorageOptions | Mapping[str, Any]) -> dict[str, Any]:
    """The options dict back from :func:`freeze` (a dict is copied as it is)."""
    if isinstance(frozen, Mapping):
        return dict(frozen)
    return {k: thaw(v) if _is_frozen(v) else v for k, v in frozen}


def _is_frozen(v: Any) -> bool:
    return isinstance(v, tuple) and all(isinstance(x, tuple) and len(x) == 2 for x in v) \
        and bool(v)


def scrub(text: str, options: StorageOptions | Mapping[str, Any] = ()) -> str:
    """``text`` with every storage-option value, credential variable, URL password and
    signed-URL parameter replaced by ``***`` (see :mod:`logaudit.scrub`): safe to print or log."""
    return scrub_message(text, option_secrets(options))


def _short(e: BaseException, options: StorageOptions | Mapping[str, Any]) -> str:
    msg = scrub(" ".join(str(e).split()) or type(e).__name__, options)
    return msg if len(msg) <= 160 else msg[:157] + "..."


# ---------------------------------------------------------------- filesystems


def filesystem(url: str, options: StorageOptions | Mapping[str, Any] = (),
               fresh: bool = False) -> tuple[Any, str]:
    """The fsspec filesystem for ``url`` and the path inside it.

    Raises :class:`ConfigError` with the exact install command when fsspec or the protocol's
    package is missing, or when the protocol is unknown; :class:`OSError` (a message safe to
    show) when the implementation fails to connect.
    """
    proto = protocol(url)
    extra, package = _EXTRAS.get(proto, ("s3", "fsspec"))
    try:
        from fsspec.core import url_to_fs
    except ImportError:
        raise ConfigError(f"{display_url(url)}: object storage needs fsspec: "
                          f"pip install 'logaudit[{extra}]'") from None
    kwargs = thaw(options) if proto not in ("file", "local") else {}
    if fresh:
        kwargs["skip_instance_cache"] = True  # list what is there now, not a cached listing
    try:
        return url_to_fs(url, **kwargs)  # type: ignore[no-any-return]
    except ImportError:
        raise ConfigError(f"{display_url(url)}: {proto}:// needs {package}: "
                          f"pip install 'logaudit[{extra}]'") from None
    except ValueError as e:
        if "Protocol not known" in str(e):
            raise ConfigError(f"{display_url(url)}: unknown storage protocol {proto}://") from None
        raise ConfigError(f"{display_url(url)}: {_short(e, options)}") from None
    except TypeError as e:  # a storage option the implementation does not take
        raise ConfigError(f"{display_url(url)}: bad --storage-option for {proto}:// "
                          f"({_short(e, options)})") from None
    except Exception as e:  # some implementations connect here (ftp://): the input's error
        raise _os_error(e, options) from None


def _reason(e: BaseException, options: StorageOptions | Mapping[str, Any], what: str) -> str:
    if isinstance(e, FileNotFoundError):
        return "no such bucket, object or prefix"
    if isinstance(e, PermissionError):
        return ("access denied; check the credentials (environment, config files, instance "
                "role, --storage-option) and the bucket policy")
    return f"cannot {what}: {_short(e, options)}"


def _matches(cands: Sequence[str], globs: Sequence[str]) -> bool:
    return any(fnmatch.fnmatch(c, g) for c in cands for g in globs)


def _selected(url: str, rel: str, include: Sequence[str], exclude: Sequence[str]) -> bool:
    name = posixpath.basename(rel)
    if exclude:
        parts = rel.split("/")
        dirs = ["/".join(parts[:i]) for i in range(1, len(parts))]
        cands = [url, rel, name, *dirs, *(posixpath.basename(d) for d in dirs)]
        if _matches(cands, exclude):
            return False
    return not include or _matches([url, rel, name], include)


def discover_url(
    url: str,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    options: StorageOptions | Mapping[str, Any] = (),
) -> Iterator[InputRef | InputError]:
    """Yield the objects under ``url`` (one object, or every key below a prefix), sorted by
    key, or an :class:`InputError` saying why the URL could not be listed.

    An empty or missing prefix is an error: a typo must not look like a clean scan.
    """
    shown = display_url(url)
    try:
        fs, root = filesystem(url, options, fresh=True)
    except OSError as e:
        yield InputError(shown, f"cannot connect: {e.strerror or type(e).__name__}")
        return
    try:
        info = fs.info(root)
    except FileNotFoundError:
        info = None  # S3 prefixes are not objects: list below it
    except Exception as e:
        yield InputError(shown, _reason(e, options, "read"))
        return
    if info is not None and info.get("type") == "file":
        yield InputRef(shown, url, info.get("size"), explicit=True)  # one object, named
        return
    try:
        found: dict[str, dict[str, Any]] = fs.find(root, withdirs=False, detail=True)
    except Exception as e:
        yield InputError(shown, _reason(e, options, "list"))
        return
    if not found and info is None:
        yield InputError(shown, "no such bucket, object or prefix")
        return
    base = root.rstrip("/")
    for name in sorted(found):
        if name.endswith("/"):
            continue  # a "folder" marker object
        full = fs.unstrip_protocol(name)
        rel = name[len(base) + 1:] if name.startswith(base + "/") else name
        if _selected(display_url(full), rel, include, exclude):
            yield InputRef(display_url(full), full, found[name].get("size"))


def object_identity(info: Mapping[str, Any]) -> dict[str, Any]:
    """What identifies one version of an object (for incremental state): ETag, size and
    last-modified time as strings/ints, whatever the provider calls them."""
    etag = info.get("ETag") or info.get("etag") or info.get("md5Hash") or info.get("md5")
    modified = (info.get("LastModified") or info.get("last_modified") or info.get("updated")
                or info.get("mtime"))
    if modified is not None:
        modified = modified.isoformat() if hasattr(modified, "isoformat") else str(modified)
    return {
        "etag": str(etag).strip('"') if etag is not None else None,
        "size": info.get("size", info.get("Size")),
        "last_modified": modified,
    }


def stat_object(url: str, options: StorageOptions | Mapping[str, Any] = ()) -> dict[str, Any]:
    """:func:`object_identity` of the object at ``url`` (raises OSError like ``os.stat``)."""
    fs, path = filesystem(url, options)
    return object_identity(fs.info(path))


# ---------------------------------------------------------------- opening


def open_object(url: str, options: StorageOptions | Mapping[str, Any] = ()) -> Any:
    """Open the object at ``url`` for binary reading: seekable, ranged reads.

    Every failure is an :class:`OSError` whose ``strerror`` is safe to show (a missing object
    is :class:`FileNotFoundError`, as for a local file).
    """
    fs, path = filesystem(url, options)
    try:
        f = fs.open(path, "rb", block_size=READ_BLOCK, cache_type="readahead")
    except Exception as e:
        raise _os_error(e, options) from None
    return SafeFile(f, options)


def _os_error(e: BaseException, options: StorageOptions | Mapping[str, Any]) -> OSError:
    if isinstance(e, FileNotFoundError):
        return FileNotFoundError(errno.ENOENT, "no such object")
    if isinstance(e, PermissionError):
        return PermissionError(errno.EACCES, _reason(e, options, "read"))
    code = e.errno if isinstance(e, OSError) and e.errno else errno.EIO
    return OSError(code, _short(e, options))


class SafeFile:
    """An fsspec file whose errors are all :class:`OSError` with credential-free messages (the
    readers above it report OSErrors as read errors of that input; anything else would stop
    the whole scan)."""

    def __init__(self, f: Any, options: StorageOptions | Mapping[str, Any]) -> None:
        self._f = f
        self._options = options

    def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes."""
        try:
            return self._f.read(n)  # type: ignore[no-any-return]
        except Exception as e:
            raise _os_error(e, self._options) from None

    def readinto(self, b: bytearray | memoryview) -> int:
        """Read into ``b``."""
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        """Move to ``offset`` (no request is made until the next read)."""
        try:
            return self._f.seek(offset, whence)  # type: ignore[no-any-return]
        except Exception as e:
            raise _os_error(e, self._options) from None

    def tell(self) -> int:
        """The current offset."""
        return self._f.tell()  # type: ignore[no-any-return]

    def readable(self) -> bool:
        """Always True."""
        return True

    def seekable(self) -> bool:
        """Always True (ranged reads)."""
        return True

    def close(self) -> None:
        """Close the object (errors on close are not worth a failed scan)."""
        try:
            self._f.close()
        except Exception:
            pass

    def __enter__(self) -> SafeFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
