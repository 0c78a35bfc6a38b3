"""PII rules and validators (phonenumbers, python-stdnum), selection invariance of overlap
resolution (--category / --min-severity select rows, they do not change what a row reports),
and the error-context condition of internal-host-in-error."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logaudit.api import scan
from logaudit.engine.scanner import Engine, all_hits, scan_bytes
from logaudit.rules import RuleSelection, claimant_rules, load_builtin_rules, select_rules
from logaudit.validators import VALIDATORS, card_issuer, phone_national, uk_nino

BY_ID = {r.id: r for r in load_builtin_rules()}


def _luhn_complete(prefix: str, length: int, rng: random.Random) -> str:
    body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
    for check in "0123456789":
        if VALIDATORS["luhn"]((body + check).encode()):
            return body + check
    raise AssertionError("unreachable: one check digit always completes a Luhn number")


@pytest.mark.parametrize(("prefix", "length"), [
    ("1", 15), ("2200", 16), ("2204", 19), ("6759", 12), ("5018", 19), ("6200", 16),
    ("6212", 19), ("3530", 16), ("3589", 19), ("4", 13), ("4", 19), ("34", 15),
])
def test_card_issuer_lengths_accepted(prefix: str, length: int) -> None:
    rng = random.Random(prefix + str(length))
    for _ in range(20):
        number = _luhn_complete(prefix, length, rng).encode()
        assert VALIDATORS["card"](number) and card_issuer(number)


@pytest.mark.parametrize(("prefix", "length"), [
    ("1", 16), ("34", 16), ("51", 19), ("4", 15), ("7", 16), ("8", 16), ("0", 16), ("9", 12),
])
def test_card_issuer_lengths_refused(prefix: str, length: int) -> None:
    number = _luhn_complete(prefix, length, random.Random(1)).encode()
    assert not card_issuer(number)


@given(st.text(alphabet="0123456789", min_size=12, max_size=19))
def test_card_refuses_every_luhn_failure(digits: str) -> None:
    from stdnum import luhn

    if not luhn.is_valid(digits):
        assert not VALIDATORS["card"](digits.encode())


@pytest.mark.parametrize("value", [
    "080-5555-0142", "13800138000", "07911 123456", "030 1234567", "06 12 34 56 78",
    "098765 43210", "+81 80-5555-0142", "0086 138 0013 8000", "(415) 555-0134",
])
def test_phone_national_valid(value: str) -> None:
    assert phone_national(value.encode())


@pytest.mark.parametrize("value", [
    "2024-01-01", "01/12/2024", "192.168.100.200", "0000000000", "0123456789", "1234567",
    "+999 123 456 789", "12.34.56",
])
def test_phone_national_refused(value: str) -> None:
    assert not phone_national(value.encode())


@pytest.mark.parametrize(("name", "good", "bad"), [
    ("ca_sin", "208 023 002", "208 023 003"),
    ("in_aadhaar", "3904 0305 6584", "3904 0305 6585"),
    ("in_pan", "ABCPE1234F", "ABCXE1234F"),
    ("br_cpf", "700.324.639-28", "700.324.639-29"),
    ("br_cnpj", "16.024.035/0001-09", "16.024.035/0001-08"),
    ("es_dni_nie", "79562779Y", "79562779Z"),
    ("es_dni_nie", "X7967896Y", "X7967896A"),
    ("it_codicefiscale", "RCCMNL83S18D969H", "RCCMNL83S18D969A"),
    ("fr_nir", "1 28 05 13 376 419 91", "1 28 05 13 376 419 92"),
    ("de_idnr", "23 577 904 867", "23 577 904 868"),
    ("au_tfn", "509-456-229", "509-456-228"),
    ("uk_nino", "AB 12 34 56 C", "QQ 12 34 56 C"),
    ("ssn", "536-90-4399", "219-09-9999"),
    ("iban", "GB82 WEST 1234 5698 7654 32", "GB82 WEST 1234 5698 7654 33"),
])
def test_national_id_validators(name: str, good: str, bad: str) -> None:
    assert VALIDATORS[name](good.encode())
    assert not VALIDATORS[name](bad.encode())


def test_uk_nino_prefix_rules() -> None:
    for prefix in ("BG", "GB", "KN", "NK", "NT", "TN", "ZZ", "DA", "AO", "QA"):
        assert not uk_nino(f"{prefix}123456A".encode()), prefix


def test_repeated_digits_never_an_id() -> None:
    # 000.000.000-00 and 111.111.111-11 pass the CPF checksum; they are placeholders.
    for name in ("br_cpf", "br_cnpj", "ca_sin", "au_tfn", "de_idnr"):
        for d in "0123456789":
            assert not VALIDATORS[name]((d * 14).encode()[:11 if name != "br_cnpj" else 14])


def test_national_id_rules_need_their_keyword() -> None:
    """A nine- or eleven-digit number alone is an id, not a SIN, TFN or Steuer-ID."""
    engine = Engine(select_rules(RuleSelection(pack="pii")), "pyahocorasick")
    for line in ("request 208023002 done", "order 23577904867 shipped", "took 509456229 ns",
                 "job 390403056584 queued", "ref ABCPE1234F ok", "x 79562779Y"):
        assert not all_hits(scan_bytes(engine, line.encode() + b"\n")), line


def test_noisy_keyword_free_forms_are_off_by_default() -> None:
    default = {r.id for r in select_rules(RuleSelection())}
    assert "in-aadhaar-grouped" not in default
    assert "in-aadhaar-grouped" in {r.id for r in select_rules(RuleSelection(pack="pii"))}
    for rid in ("uk-nino", "ca-sin", "in-aadhaar", "in-pan", "br-cpf", "br-cnpj", "es-dni-nie",
                "it-codice-fiscale", "fr-nir", "de-steuer-id", "au-tfn",
                "payment-card-number-keyword", "phone-number-national"):
        assert rid in default, rid


# --- selection options select rows; they must not change what a row reports -----------------

FRAGMENTS = [
    "postgres://app:Pa55word@db01@example.com:5432/app",
    "https://admin:S3cr3tPa55@api.example.com/v1",
    "api_key=4111111111111111",
    "email=jane.doe@example.com",
    "card=4111 1111 1111 1111",
    "phone=+14155550134",
    "ssn=536-90-4399",
    "token=ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    "password=Winter#77ab",
    "mobile=080-5555-0142",
    "Authorization: Basic YWxhZGRpbjpvcGVuc2VzYW1l",
    "user bob@example.org from 10.0.0.5",
]


def _rows(sel: RuleSelection, text: bytes) -> set[tuple[int, int, int, str]]:
    selected = select_rules(sel)
    engine = Engine(selected, "pyahocorasick", claimants=claimant_rules(sel, selected))
    return {(h.line, h.secret_start, h.secret_end, h.rule.id)
            for h in all_hits(scan_bytes(engine, text))}


_FULL: dict[bytes, set[tuple[int, int, int, str]]] = {}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=4), min_size=1,
                max_size=4),
       st.sampled_from([("pii",), ("secret",), ("secret", "pii")]),
       st.sampled_from(["info", "medium", "high", "critical"]))
def test_selection_filters_rows_of_the_full_scan(lines: list[list[str]],
                                                  cats: tuple[str, ...], floor: str) -> None:
    text = "".join(" ".join(parts) + "\n" for parts in lines).encode()
    full = _rows(RuleSelection(), text)
    sel = RuleSelection(categories=cats, min_severity=floor)
    rank = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
    expect = {row for row in full if BY_ID[row[3]].category.value in cats
              and rank[BY_ID[row[3]].severity.value] >= rank[floor]}
    assert _rows(sel, text) == expect


def test_url_password_is_never_an_email_under_category_pii(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"DB url=https://admin:S3cr3tPa55@api.example.com/v1 ok\n"
                    b"signup email=jane.doe@example.com\n")
    full = scan([log], key=b"k").findings
    pii = scan([log], category=["pii"], key=b"k").findings
    secret = scan([log], category=["secret"], key=b"k").findings
    assert full.filter(full["line"] == 1)["rule_id"].to_list() == ["url-credentials-http"]
    assert pii["rule_id"].to_list() == ["email-address"] and pii["line"].to_list() == [2]
    assert secret["rule_id"].to_list() == ["url-credentials-http"]


def test_disable_removes_a_rule_from_resolution() -> None:
    """--disable is not a row filter: a disabled rule claims nothing (the value falls to the
    next rule), unlike --category, which only hides its rows."""
    sel = RuleSelection(disable=("url-credentials-http",))
    assert "url-credentials-http" not in {r.id for r in claimant_rules(sel, select_rules(sel))}
    sel = RuleSelection(categories=("pii",), disable=("url-credentials-http",))
    assert "url-credentials-http" not in {r.id for r in claimant_rules(sel, select_rules(sel))}


def test_no_claimants_without_a_row_filter() -> None:
    assert claimant_rules(RuleSelection(), select_rules(RuleSelection())) == []


# --- internal-host-in-error: only inside an error context -----------------------------------

@pytest.mark.parametrize("line", [
    "2024-05-01 10:00:00 INFO upstream 172.16.4.20:8080 healthy, 192.168.10.5:8080 healthy",
    "INFO lb: upstream pool [10.0.1.4:80, 10.0.1.5:80] all healthy",
    "DEBUG connection to 10.0.0.12:5432 established",
])
def test_internal_host_not_outside_errors(line: str) -> None:
    engine = Engine([BY_ID["internal-host-in-error"]], "pyahocorasick")
    assert not all_hits(scan_bytes(engine, line.encode() + b"\n"))


@pytest.mark.parametrize("line", [
    "WARN upstream 172.16.4.21:8080 failed health check",
    "ERROR connection to 10.0.0.12:5432 lost",
    "upstream timed out (110: Connection timed out) upstream: http://10.0.4.17:8080/",
    "java.net.ConnectException: Connection refused: billing.prod.internal/10.2.3.4:8443",
])
def test_internal_host_inside_errors(line: str) -> None:
    engine = Engine([BY_ID["internal-host-in-error"]], "pyahocorasick")
    assert all_hits(scan_bytes(engine, line.encode() + b"\n"))


@pytest.mark.parametrize("value", [
    "../config/token.txt", "/run/secrets/api", "secretsmanager:prod/api", "client_credentials",
    "2024.11.01-build.7", "PBKDF2-HMAC-SHA256", "EnvironmentCredential", "vault.prod.internal",
    "https://vault.example.com/v1/secret", "db01:5432",
])
def test_not_reference_refuses_names_and_paths(value: str) -> None:
    assert not VALIDATORS["not_reference"](value.encode())


@pytest.mark.parametrize("value", [
    "kiggB1-eDGATSUkZa0Imne1RUZOhn4-U", "YKflcbKFRNI9c9FZ5yb+A57hv1Crr/sOYNGAkm/PWU+JLNQDBT",
    "3f2a7c1e-9b4d-4e8a-a1f0-6c2d9e8b7a51", "37a65d906347def4ed80404dadc5a6302773eab0",
])
def test_not_reference_keeps_keys(value: str) -> None:
    assert VALIDATORS["not_reference"](value.encode())


@pytest.mark.parametrize(("value", "ok"), [
    ("summer2024x", True), ("Winter#77ab", True), ("qwerty123", False), ("foobar42", False),
    ("ab12...ef90", False), ("key-0001", False), ("HMAC-SHA256", False), ("Object@1b6d3586", False),
    ("01HF3Z8QK4X9V7T2M5N6P8R0S1", False),
])
def test_credential_shape(value: str, ok: bool) -> None:
    assert VALIDATORS["credential_shape"](value.encode()) is ok


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(VALIDATORS)), st.binary(max_size=40))
def test_validators_never_raise(name: str, value: bytes) -> None:
    """Validators see hostile bytes (whatever a regex let through): a verdict, never a crash."""
    assert VALIDATORS[name](value) in (True, False)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789 +-().", min_size=1, max_size=24))
def test_phone_validators_never_raise(value: str) -> None:
    assert phone_national(value.encode()) in (True, False)
    assert VALIDATORS["phone"](value.encode()) in (True, False)


@pytest.mark.parametrize(("value", "masked"), [
    ("李雷@例子.中国", "李***@例子.中国"), ("ünal@bücher.example", "ü***@bücher.example"),
    ("jane@example.com", "j***@example.com"),
])
def test_idn_email_mask_keeps_a_whole_character(value: str, masked: str) -> None:
    from logaudit.findings import mask_value
    from logaudit.rules import Category

    assert mask_value(value.encode(), Category.PII) == masked
