"""`funnelsync doctor`: a checklist of what a sync needs from each CRM, with exact fixes.

Per CRM: credentials log in; the configured Salesforce API version is served; daily API quota
left; the write-back fields (Salesforce) / properties (HubSpot) exist and are writable; every
active CRM stage is mapped to a funnel stage. ``fix=True`` creates missing HubSpot properties;
Salesforce custom fields need an admin in Setup, so their steps are listed instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from funnelsync.config.models import AppConfig
from funnelsync.crm.hubspot import HUBSPOT
from funnelsync.crm.salesforce import SALESFORCE
from funnelsync.crm.source import ConnectorFactory, Source, default_connector, open_sources
from funnelsync.errors import EXIT_OK, EXIT_PARTIAL, EXIT_REMOTE, AuthError, RemoteError
from funnelsync.reports.audit.common import group_catalog
from funnelsync.reports.audit.definitions import definition_findings
from funnelsync.reports.history import StageResolver

Status = Literal["ok", "fixed", "warn", "skip", "fail"]
SF, HS = SALESFORCE.name, HUBSPOT.name
LOW_QUOTA_SHARE = 0.1  # warn when less than this share of the daily API quota is left


@dataclass
class Check:
    source: str
    name: str
    status: Status
    detail: str
    fix: list[str] = field(default_factory=list)


@dataclass
class DoctorReport:
    checks: list[Check] = field(default_factory=list)
    unreachable: bool = False  # a CRM refused the credentials or could not be reached

    @property
    def ok(self) -> bool:
        return not any(c.status == "fail" for c in self.checks)

    @property
    def exit_code(self) -> int:
        """4 when a CRM refused the login or was unreachable, 1 when a check failed, else 0."""
        if self.unreachable:
            return EXIT_REMOTE
        return EXIT_OK if self.ok else EXIT_PARTIAL

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checks": [asdict(c) for c in self.checks]}


def run_doctor(config: AppConfig, *, fix: bool = False,
               connector_factory: ConnectorFactory = default_connector) -> DoctorReport:
    """Every check for every configured CRM; a CRM that cannot be reached stops its checks."""
    report = DoctorReport()
    for source in open_sources(config, None, connector_factory):
        try:
            CRM_CHECKS[source.name](source, config, fix, report.checks)
        except (AuthError, RemoteError) as exc:
            report.unreachable = True
            name = "login" if isinstance(exc, AuthError) else "reachable"
            report.checks.append(Check(source.name, name, "fail", str(exc)))
        finally:
            source.connector.close()
    return report


# -- Salesforce -----------------------------------------------------------------------------
def _salesforce_checks(source: Source, config: AppConfig, fix: bool, out: list[Check]) -> None:
    assert config.salesforce is not None
    conn: Any = source.connector
    versions = conn.api_versions()  # the first call logs in
    out.append(Check(SF, "login", "ok",
                     f"logged in ({config.salesforce.auth_mode()} mode)"))
    wanted = config.salesforce.api_version
    if wanted not in versions:
        newest = versions[-1] if versions else "none"
        out.append(Check(SF, "api version", "fail",
                         f"the org does not serve API version {wanted} (newest: {newest})",
                         [f'set api_version = "{newest}" under [salesforce]']))
        return
    out.append(Check(SF, "api version", "ok",
                     f"{wanted} is served (newest {versions[-1]})"))
    out.append(_quota_check(conn.org_limits(), config))
    out += _field_checks(conn, config)
    out.append(_mapping_check(source, config))


def _quota_check(limits: dict[str, Any], config: AppConfig) -> Check:
    daily = limits.get("DailyApiRequests") or {}
    remaining, cap = daily.get("Remaining"), daily.get("Max")
    if remaining is None or not cap:
        return Check(SF, "api quota", "warn", "the org reported no DailyApiRequests")
    share = config.limits.salesforce_quota_share
    detail = (f"{remaining:,} of {cap:,} daily API requests left; one run may use "
              f"{int(remaining * share):,}")
    if remaining <= 0:
        return Check(SF, "api quota", "fail", detail,
                     ["wait for the rolling 24-hour window, or raise the org's API limit"])
    status: Status = "warn" if remaining < cap * LOW_QUOTA_SHARE else "ok"
    return Check(SF, "api quota", status, detail)


def _field_checks(conn: Any, config: AppConfig) -> list[Check]:
    wb = config.writeback
    if not wb.enabled:
        return [Check(SF, "write-back fields", "skip", "write-back is disabled")]
    names_of = SALESFORCE.writeback(wb)
    kinds = {names_of.score_name: "Number, Length 3, Decimal Places 0",
             names_of.probability_name: "Percent, Length 3, Decimal Places 0"}
    checks = []
    for sobject, names in SALESFORCE.writeback_targets(wb).items():
        fields = {f.get("name"): f for f in conn.describe(sobject).get("fields") or []}
        checks += [_field_check(sobject, name, fields.get(name),
                                kinds.get(name, "Text, Length 40")) for name in names]
    return checks


def _field_check(sobject: str, name: str, described: dict[str, Any] | None,
                 kind: str) -> Check:
    what = f"{sobject}.{name}"
    if described is None:
        label = name.removesuffix("__c").replace("_", " ")
        return Check(SF, "write-back field", "fail", f"{what} does not exist", [
            f"Setup → Object Manager → {sobject} → Fields & Relationships → New → {kind} → "
            f"Field Label \"{label}\", Field Name \"{name.removesuffix('__c')}\" "
            f"(API name {name}) → Next → make it visible and editable for the integration "
            f"user's profile → Save"])
    if not described.get("updateable", True):
        return Check(SF, "write-back field", "fail",
                     f"{what} exists but the integration user cannot edit it", [
                         f"Setup → Object Manager → {sobject} → Fields & Relationships → "
                         f"{name} → Set Field-Level Security → tick Visible (not Read-Only) "
                         f"for the integration user's profile → Save"])
    return Check(SF, "write-back field", "ok", f"{what} exists and is writable")


# -- HubSpot --------------------------------------------------------------------------------
def _hubspot_checks(source: Source, config: AppConfig, fix: bool, out: list[Check]) -> None:
    assert config.hubspot is not None
    conn: Any = source.connector
    conn.stage_catalog()  # the first call: proves the token works
    out.append(Check(HS, "login", "ok",
                     f"credentials accepted ({config.hubspot.auth_mode()} mode)"))
    out.append(Check(HS, "api quota", "skip",
                     "unknown: see the daily usage under Settings → Integrations → Private "
                     "Apps → your app → Logs"))
    out += _property_checks(conn, config, fix)
    out.append(_mapping_check(source, config))


def _property_checks(conn: Any, config: AppConfig, fix: bool) -> list[Check]:
    wb = config.writeback
    if not wb.enabled:
        return [Check(HS, "write-back properties", "skip", "write-back is disabled")]
    checks = []
    for object_type, names in HUBSPOT.writeback_targets(wb).items():
        present = conn.property_names(object_type)
        missing = [n for n in names if n not in present]
        checks += [Check(HS, "write-back property", "ok", f"{object_type}.{n} exists")
                   for n in names if n in present]
        if missing and fix:
            created = conn.ensure_properties(object_type, missing)
            checks += [Check(HS, "write-back property", "fixed",
                             f"created {object_type}.{n}") for n in created]
            missing = [n for n in missing if n not in created]
        checks += [_missing_property(object_type, n) for n in missing]
    return checks


def _missing_property(object_type: str, name: str) -> Check:
    singular = object_type.removesuffix("s")
    return Check(HS, "write-back property", "fail",
                 f"{object_type}.{name} does not exist", [
                     "run `funnelsync doctor --fix` to create it, or in HubSpot: Settings → "
                     f"Properties → {singular.capitalize()} properties → Create property → "
                     f"internal name {name}"])


CrmChecks = Callable[[Source, AppConfig, bool, list[Check]], None]
CRM_CHECKS: dict[str, CrmChecks] = {SF: _salesforce_checks, HS: _hubspot_checks}


# -- both -----------------------------------------------------------------------------------
def _mapping_check(source: Source, config: AppConfig) -> Check:
    catalog = source.load_catalog()
    resolver = StageResolver(config.funnel, source.maps)
    unmapped = [f for f in definition_findings(group_catalog(catalog), resolver)
                if f.check == "unmapped_stage"]
    active = sum(1 for s in catalog if s.active)
    if not unmapped:
        return Check(source.name, "stage mapping", "ok",
                     f"all {active} active stages are mapped to funnel stages")
    return Check(source.name, "stage mapping", "fail",
                 f"{len(unmapped)} of {active} active stages have no funnel stage: "
                 + ", ".join(str(f.evidence.get("label") or f.stage) for f in unmapped),
                 [f.fix for f in unmapped])


MARKS = {"ok": "ok", "fixed": "fixed", "warn": "warn", "skip": "skip", "fail": "FAIL"}


def checklist_lines(report: DoctorReport) -> list[str]:
    """The checklist as aligned text lines, each fix step indented under its check."""
    lines = []
    for check in report.checks:
        lines.append(f"{MARKS[check.status]:<5} {check.source:<10} {check.name:<20} "
                     f"{check.detail}")
        lines += [f"{'':17}→ {step}" for step in check.fix]
    failed = sum(1 for c in report.checks if c.status == "fail")
    lines.append("all checks passed" if not failed else f"{failed} check(s) failed")
    return lines
