"""Salesforce Bulk API 2.0 query jobs: create, poll, CSV results paged by `Sforce-Locator`.

Jobs complete at once (the query runs when the job is created), so a poll answers JobComplete.
Results are CSV with every value quoted, relationship columns named `Owner.Name`, booleans
`true`/`false`, nulls empty, as Salesforce writes them.
"""

from __future__ import annotations

import csv
import io
import re
import secrets

from funnelsync.sandbox.common import Request, Response, json_response, sf_datetime, sf_id
from funnelsync.sandbox.salesforce import soql
from funnelsync.sandbox.salesforce.api import (
    api_user_id,
    compile_soql,
    not_found,
    sf_error,
    visible_rows,
)
from funnelsync.sandbox.state import SandboxState

DEFAULT_MAX_RECORDS = 50_000


def create_job(state: SandboxState, req: Request, m: re.Match) -> Response:
    body = req.json()
    if not isinstance(body, dict) or body.get("operation") not in ("query", "queryAll"):
        return sf_error(400, "INVALIDJOB", "operation must be query or queryAll")
    text = str(body.get("query") or "")
    with state.lock:
        try:
            compiled = compile_soql(state, text, m["v"])
        except soql.SoqlError as exc:
            return sf_error(400, exc.error_code, exc.message)
        if compiled.count_only:
            return sf_error(400, "INVALIDJOB", "COUNT() is not supported by Bulk API 2.0 queries")
        records = visible_rows(state, compiled.obj, body["operation"] == "queryAll")
        rows = [compiled.project(r) for r in compiled.select(records)]
        job_id = sf_id("750", len(state.bulk_jobs) + 1)
        state.bulk_jobs[job_id] = {
            "info": _info(state, job_id, body, compiled.obj, m["v"]),
            "fields": compiled.fields, "rows": rows, "locators": {},
        }
        return json_response(200, {**state.bulk_jobs[job_id]["info"], "state": "UploadComplete"})


def _info(state: SandboxState, job_id: str, body: dict, obj: str, version: str) -> dict:
    stamp = sf_datetime(state.now_ms())
    return {
        "id": job_id, "operation": body["operation"], "object": obj,
        "createdById": api_user_id(), "createdDate": stamp, "systemModstamp": stamp,
        "state": "JobComplete", "concurrencyMode": "Parallel", "contentType": "CSV",
        "apiVersion": float(version), "jobType": "V2Query", "lineEnding": "LF",
        "columnDelimiter": "COMMA",
    }


def get_job(state: SandboxState, req: Request, m: re.Match) -> Response:
    job = state.bulk_jobs.get(m["job"])
    if job is None:
        return not_found()
    info = dict(job["info"], numberRecordsProcessed=len(job["rows"]), retries=0,
                totalProcessingTime=5)
    return json_response(200, info)


def delete_job(state: SandboxState, req: Request, m: re.Match) -> Response:
    with state.lock:
        if state.bulk_jobs.pop(m["job"], None) is None:
            return not_found()
    return Response(204, b"")


def results(state: SandboxState, req: Request, m: re.Match) -> Response:
    job = state.bulk_jobs.get(m["job"])
    if job is None:
        return not_found()
    try:
        size = int(req.arg("maxRecords") or DEFAULT_MAX_RECORDS)
    except ValueError:
        return sf_error(400, "INVALIDJOB", "maxRecords must be a number")
    locator = req.arg("locator") or ""
    start = job["locators"].get(locator, 0) if locator else 0
    if locator and locator not in job["locators"]:
        return sf_error(400, "INVALIDJOB", f"invalid locator: {locator}")
    chunk = job["rows"][start: start + max(1, size)]
    end = start + len(chunk)
    next_locator = "null"
    if end < len(job["rows"]):
        next_locator = secrets.token_urlsafe(9)
        job["locators"][next_locator] = end
    headers = {"Sforce-Locator": next_locator, "Sforce-NumberOfRecords": str(len(chunk))}
    return Response(200, _csv(job["fields"], chunk), "text/csv", headers)


def _csv(fields: tuple[str, ...], rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(fields)
    for row in rows:
        writer.writerow([_cell(_lookup(row, path)) for path in fields])
    return out.getvalue().encode()


def _lookup(row: dict, path: str) -> object:
    value: object = row
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
