"""SARIF 2.1.0: the rule catalogue as ``tool.driver.rules``, one result per finding."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import polars as pl

from logaudit.escaping import json_text
from logaudit.reports.writers.interface import Writer, json_default

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFO_URI = "https://github.com/logaudit/logaudit"
#: The ``partialFingerprints`` key: our keyed HMAC of rule id and raw value.
FINGERPRINT_KEY = "logauditFingerprint/v1"

LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note",
         "info": "note"}
#: GitHub code scanning reads ``security-severity`` (0-10) to rank results.
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0",
                     "info": "1.0"}


def _catalogue() -> list[dict[str, Any]]:
    from logaudit.errors import LogauditError
    from logaudit.rules import load_builtin_rules

    try:
        return [r.to_dict() for r in load_builtin_rules()]
    except LogauditError:
        return []


def _help_text(rule: dict[str, Any]) -> tuple[str, str]:
    """Plain and Markdown help for one rule: what it finds, why it matters, what to do."""
    what = rule.get("description") or rule["id"]
    todo = rule.get("remediation") or (
        "Remove the value from the log, rotate it if it is a credential, and stop the "
        "application from logging it.")
    refs = [str(u) for u in rule.get("references") or ()]
    text = f"{what}\n\n{todo}" + ("".join(f"\n{u}" for u in refs))
    md = f"**{what}**\n\n{todo}" + ("\n\n" + "\n".join(f"- <{u}>" for u in refs) if refs else "")
    return text, md


def _rule_descriptor(rule: dict[str, Any]) -> dict[str, Any]:
    text, md = _help_text(rule)
    sev = rule.get("severity", "medium")
    desc: dict[str, Any] = {
        "id": rule["id"],
        "name": "".join(p.capitalize() for p in rule["id"].split("-")),
        "shortDescription": {"text": rule.get("description") or rule["id"]},
        "fullDescription": {"text": text.split("\n\n")[0] + " (" + rule.get("category", "")
                            + ", " + sev + ")"},
        "help": {"text": text, "markdown": md},
        "defaultConfiguration": {"level": LEVEL.get(sev, "warning")},
        "properties": {"category": rule.get("category", ""), "severity": sev,
                       "tags": ["security", rule.get("category", "")],
                       "security-severity": SECURITY_SEVERITY.get(sev, "5.5")},
    }
    refs = rule.get("references") or ()
    if refs:
        desc["helpUri"] = str(refs[0])
    return desc


def artifact_uri(path: str) -> str:
    """A URI reference for a finding's path (archive members keep their ``!`` separator)."""
    if path.startswith("/"):
        return "file://" + quote(path, safe="/!:@")
    return quote(path, safe="/!:@")


def sarif_document(df: pl.DataFrame, run: dict[str, Any]) -> dict[str, Any]:
    """The SARIF log as a dict."""
    rules = {r["id"]: r for r in _catalogue()}
    for rid, cat, sev in df.select("rule_id", "category", "severity").unique().iter_rows():
        rules.setdefault(rid, {"id": rid, "category": cat, "severity": sev,
                               "description": f"{rid} (user rule)"})
    ids = sorted(rules)
    index = {rid: i for i, rid in enumerate(ids)}
    results = []
    for row in df.iter_rows(named=True):
        physical: dict[str, Any] = {"artifactLocation": {"uri": artifact_uri(row["path"])}}
        if row["line"]:
            region: dict[str, Any] = {"startLine": row["line"], "startColumn": row["column"]}
            if row["end_line"] and row["end_line"] != row["line"]:
                region["endLine"] = row["end_line"]
            region["snippet"] = {"text": row["context"]}
            physical["region"] = region
        # else: the value is in the file's name (line 0): no region in the file
        res: dict[str, Any] = {
            "ruleId": row["rule_id"], "ruleIndex": index[row["rule_id"]],
            "level": LEVEL.get(row["severity"], "warning"),
            "message": {"text": f"{rules[row['rule_id']].get('description') or row['rule_id']}:"
                                f" {row['match']}"},
            "locations": [{"physicalLocation": physical}],
            "partialFingerprints": {FINGERPRINT_KEY: row["fingerprint"]},
            "properties": {"category": row["category"], "severity": row["severity"],
                           "runId": row["run_id"]},
        }
        if not row["line"]:
            res["properties"]["location"] = "name"
        if row["timestamp"] is not None:
            res["properties"]["logTimestamp"] = row["timestamp"].isoformat()
        results.append(res)
    counters = run.get("counters", {})
    invocation: dict[str, Any] = {
        "executionSuccessful": not counters.get("inputs_failed", 0),
        "properties": {"counters": counters, "runId": run.get("run_id", "")},
    }
    # Inputs not read, skipped or odd: SARIF's own place for what the tool could not do.
    notes = [{"level": {"error": "error", "warning": "warning"}.get(e.get("kind", ""), "note"),
              "message": {"text": f"{e.get('kind', 'error')}: {e.get('reason', '')}"},
              "locations": [{"physicalLocation": {
                  "artifactLocation": {"uri": artifact_uri(str(e.get("path", "")))}}}]}
             for e in run.get("errors", [])]
    if notes:
        invocation["toolExecutionNotifications"] = notes
    if run.get("started"):
        invocation["startTimeUtc"] = run["started"]
    if run.get("finished"):
        invocation["endTimeUtc"] = run["finished"]
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "logaudit", "version": str(run.get("version", "")),
                "semanticVersion": str(run.get("version", "")),
                "informationUri": INFO_URI,
                "rules": [_rule_descriptor(rules[i]) for i in ids],
                "properties": {"rulePackVersion": str(run.get("rule_pack_version", ""))},
            }},
            "automationDetails": {"id": f"logaudit/{run.get('run_id', '')}"},
            "invocations": [invocation],
            "columnKind": "unicodeCodePoints",
            "results": results,
            "properties": {"run": run},
        }],
    }


class SarifWriter(Writer):
    """SARIF 2.1.0 for code-scanning dashboards."""

    name = "sarif"

    def write(self, df: pl.DataFrame, path: Path, run: dict[str, Any]) -> None:
        """Write the SARIF log as indented JSON."""
        path.write_text(json_text(sarif_document(df, run), default=json_default, indent=2)
                        + "\n", encoding="utf-8")
