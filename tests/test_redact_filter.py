"""``logaudit.RedactingFilter`` and ``RedactingProcessor``: secrets kept out at the source."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

import logaudit

KEY = b"test-key-not-secret"
TOKEN = "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"


@pytest.fixture
def logger() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(logaudit.RedactingFilter(key=KEY))
    log = logging.getLogger("test_redact_filter")
    log.propagate = False
    log.setLevel(logging.DEBUG)
    log.addHandler(handler)
    yield log, buf
    log.removeHandler(handler)


def test_message_and_args_are_rewritten(logger: tuple[logging.Logger, io.StringIO]) -> None:
    log, buf = logger
    log.info("login user=%s password=%s", "jane.doe@example.com", "hunter2hunter2")
    log.info("card %(pan)s", {"pan": "4111 1111 1111 1111"})
    assert buf.getvalue() == ("INFO login user=j***@example.com password=********\n"
                              "INFO card **** **** **** 1111\n")


def test_exception_text_is_rewritten(logger: tuple[logging.Logger, io.StringIO]) -> None:
    log, buf = logger
    try:
        raise ValueError(f"bad token {TOKEN}")
    except ValueError:
        log.exception("failed for %s", "bob.smith@example.org")
    out = buf.getvalue()
    assert TOKEN not in out and "bob.smith" not in out
    assert "ValueError: bad token ghp_********4xXH" in out and "Traceback" in out


def test_clean_record_is_left_as_it_was(logger: tuple[logging.Logger, io.StringIO]) -> None:
    log, buf = logger
    record = log.makeRecord(log.name, logging.INFO, __file__, 1, "took %d ms", (12,), None)
    log.handle(record)
    assert record.msg == "took %d ms" and record.args == (12,)
    assert buf.getvalue() == "INFO took 12 ms\n"


def test_same_text_as_redact_with_pseudonyms(tmp_path: object) -> None:
    f = logaudit.RedactingFilter(key=KEY, replace="pseudonym")
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "mail %s", ("jane.doe@example.com",),
                               None)
    assert f.filter(record)
    first = record.getMessage()
    record2 = logging.LogRecord("x", logging.INFO, __file__, 1, "again jane.doe@example.com",
                                None, None)
    f.filter(record2)
    token = first.split()[1]
    assert token.startswith("<email-address#") and record2.getMessage() == f"again {token}"


def test_structlog_processor() -> None:
    p = logaudit.RedactingProcessor(key=KEY)
    event = p(None, "info", {"event": f"push with {TOKEN}", "password": "hunter2hunter2",
                             "user": {"email": "jane.doe@example.com"}, "n": 3,
                             "tags": ["ok", "ssn 536-90-4399"]})
    assert event == {"event": "push with ghp_********4xXH", "password": "********",
                     "user": {"email": "j***@example.com"}, "n": 3,
                     "tags": ["ok", "ssn ***-**-4399"]}
