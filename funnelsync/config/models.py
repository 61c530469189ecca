"""Typed configuration: the pydantic models of every section.

A typo is an error (``extra="forbid"``); each model validates its own cross-field rules.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from funnelsync.config.base import StrictModel
from funnelsync.config.identity import IdentityConfig
from funnelsync.config.operations import NurtureConfig, RoutingConfig, SlaConfig
from funnelsync.config.report import ReportConfig
from funnelsync.config.urls import check_http_url, check_state_url, is_cleartext_remote

MAX_LOCK_TTL_SECONDS = 7 * 24 * 3600  # a week
MAX_DUE_DAYS = 365
# [limits]: beyond these a rate limit no longer limits, a retry never gives up, or a cache
# expiry overflows the calendar
MAX_HUBSPOT_REQUESTS_PER_10S = 10_000
MAX_HUBSPOT_SEARCH_PER_SECOND = 100
MAX_RETRY_SECONDS = 24 * 3600  # a day
MAX_METADATA_TTL_HOURS = 8760  # a year


class CrmConnection(StrictModel):
    """How to reach one CRM. Every AppConfig section of this type is a CRM."""

    def url_keys(self) -> dict[str, str | None]:
        """The keys of this section that hold a URL credentials are sent to, with values."""
        return {}

    def cleartext_keys(self) -> list[str]:
        """The keys whose URL is plain http:// to a host other than localhost: credentials
        and data would travel in clear text."""
        return [key for key, url in self.url_keys().items() if is_cleartext_remote(url)]

    @classmethod
    def sandbox_login(cls, url: str) -> dict[str, Any]:
        """Section values that log in to the funnelsync sandbox at ``url`` with its fixed
        demo credentials."""
        raise NotImplementedError


class SalesforceConfig(CrmConnection):
    """How to reach one Salesforce org. Exactly one complete auth mode must be given.

    Give exactly one complete way to log in: username + password + security_token; username +
    password + consumer_key + consumer_secret; consumer_key + consumer_secret + domain (My
    Domain); username + consumer_key + privatekey_file (JWT); or session_id + instance_url.
    """

    username: str | None = Field(None, description="Login user name (password and JWT modes).")
    password: SecretStr | None = Field(None, description="Password of `username`.")
    security_token: SecretStr | None = Field(
        None, description="Security token appended to the password (SOAP login).")
    consumer_key: str | None = Field(
        None, description="Connected-app consumer key (OAuth password, client credentials, JWT).")
    consumer_secret: SecretStr | None = Field(None, description="Connected-app consumer secret.")
    privatekey_file: Path | None = Field(None, description="PEM key file for the JWT bearer flow.")
    session_id: SecretStr | None = Field(
        None, description="A ready session id; needs `instance_url`. Cannot be renewed.")
    instance_url: str | None = Field(
        None, description="Instance URL override, e.g. https://acme.my.salesforce.com or a "
                          "local http://127.0.0.1:PORT stand-in.")
    login_url: str | None = Field(
        None, description="Login host override, e.g. http://127.0.0.1:PORT (sandbox).")
    domain: str = Field("login", description="`login`, `test`, or the org's My Domain prefix.")
    api_version: str = Field("59.0", description="REST API version, e.g. 59.0.")
    bulk_threshold: int = Field(
        50_000, gt=0, description="Full loads of more rows than this use Bulk API 2.0.")

    @field_validator("api_version")
    @classmethod
    def _check_version(cls, value: str) -> str:
        if not re.fullmatch(r"\d{2}\.0", value):
            raise ValueError("must look like 59.0")
        return value

    _urls = field_validator("instance_url", "login_url")(check_http_url)

    @model_validator(mode="after")
    def _check_auth(self) -> SalesforceConfig:
        self.auth_mode()  # raises ValueError listing what is missing
        return self

    def auth_mode(self) -> Literal["password", "oauth_password", "client_credentials", "jwt",
                                   "session"]:
        """The auth mode these settings select."""
        if self.session_id is not None:
            if not self.instance_url:
                raise ValueError("session_id needs instance_url")
            return "session"
        if self.privatekey_file is not None:
            if not (self.username and self.consumer_key):
                raise ValueError("privatekey_file (JWT) needs username and consumer_key")
            return "jwt"
        if self.username and self.password is not None:
            if self.consumer_key and self.consumer_secret is not None:
                return "oauth_password"
            if self.security_token is None:
                raise ValueError("username + password needs security_token "
                                 "(or consumer_key + consumer_secret)")
            return "password"
        if self.consumer_key and self.consumer_secret is not None:
            if self.domain in ("login", "test") and not self.login_url:
                raise ValueError("client credentials need the org's My Domain as domain")
            return "client_credentials"
        raise ValueError("no credentials: give username + password + security_token, "
                         "consumer_key + consumer_secret, privatekey_file, or session_id + "
                         "instance_url")

    def url_keys(self) -> dict[str, str | None]:
        return {"login_url": self.login_url, "instance_url": self.instance_url}

    @classmethod
    def sandbox_login(cls, url: str) -> dict[str, Any]:
        return {"username": "demo@funnelsync.local", "password": "demo",
                "security_token": "demo", "login_url": url}


class HubSpotConfig(CrmConnection):
    """How to reach one HubSpot account: a private-app token or OAuth.

    A private-app access_token, or OAuth client_id + client_secret + refresh_token.
    """

    access_token: SecretStr | None = Field(None, description="Private-app access token.")
    client_id: str | None = Field(None, description="OAuth app client id.")
    client_secret: SecretStr | None = Field(None, description="OAuth app client secret.")
    refresh_token: SecretStr | None = Field(None, description="OAuth refresh token.")
    host: str = Field("https://api.hubapi.com",
                      description="API host override, e.g. http://127.0.0.1:PORT (sandbox).")
    pipelines: list[str] | None = Field(
        None, description="Deal pipeline ids to include; all pipelines when absent.")

    _host = field_validator("host")(check_http_url)

    @model_validator(mode="after")
    def _check_auth(self) -> HubSpotConfig:
        self.auth_mode()
        return self

    def auth_mode(self) -> Literal["token", "oauth"]:
        """The auth mode these settings select."""
        if self.access_token is not None:
            return "token"
        oauth = (self.client_id, self.client_secret, self.refresh_token)
        if all(v is not None for v in oauth):
            return "oauth"
        raise ValueError("no credentials: give access_token, or client_id + client_secret + "
                         "refresh_token")

    def url_keys(self) -> dict[str, str | None]:
        return {"host": self.host}

    @classmethod
    def sandbox_login(cls, url: str) -> dict[str, Any]:
        return {"access_token": "pat-demo", "host": url}


class StateConfig(StrictModel):
    """Where funnelsync keeps its state (records, watermarks, runs)."""

    url: str = Field("sqlite:///funnelsync.db",
                     description="SQLAlchemy URL: sqlite:///file.db or "
                                 "postgresql+psycopg://user@host/db.")
    lock_ttl_seconds: int = Field(
        900, gt=0, le=MAX_LOCK_TTL_SECONDS,
        description="A run lock not refreshed for this long is considered dead (at most "
                    "604800, a week).")

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        check_state_url(value)
        return value



class FunnelStage(StrictModel):
    """One stage of the ordered funnel."""

    id: str = Field(..., min_length=1, description="Stable id, e.g. `consideration`.")
    label: str = Field("", description="Display name.")
    max_days: int | None = Field(
        None, gt=0, description="Open deals longer than this in the stage are stale.")
    exit_criterion: str = Field("", description="What moves a record to the next stage.")


def _default_stages() -> list[FunnelStage]:
    rows = [
        ("awareness", "Awareness", None, "first meaningful interaction"),
        ("interest", "Interest", None, "score reaches the MQL threshold"),
        ("consideration", "Consideration", 14, "qualified, opportunity created"),
        ("intent", "Intent", 21, "proposal or quote sent"),
        ("decision", "Decision", 14, "contract signed or lost"),
        ("purchase", "Purchase", None, ""),
    ]
    return [FunnelStage(id=i, label=lab, max_days=d, exit_criterion=e) for i, lab, d, e in rows]


class FunnelConfig(StrictModel):
    """The ordered funnel; `lost` is the terminal exit stage outside the order."""

    stages: list[FunnelStage] = Field(default_factory=_default_stages,
                                      description="Ordered stages, first to last.")
    lost_stage: str = Field("lost", description="Id of the exit stage for lost records.")

    @field_validator("stages")
    @classmethod
    def _check_unique(cls, stages: list[FunnelStage]) -> list[FunnelStage]:
        if not stages:
            raise ValueError("needs at least one stage")
        seen: set[str] = set()
        for stage in stages:
            if stage.id in seen:
                raise ValueError(f"stage id {stage.id!r} appears twice")
            seen.add(stage.id)
        return stages

    def stage_ids(self) -> list[str]:
        """Funnel stage ids in order (without the lost stage)."""
        return [s.id for s in self.stages]

    def order_of(self, stage_id: str | None) -> int | None:
        """Position of a stage in the funnel (0-based); None for lost or unknown."""
        ids = self.stage_ids()
        return ids.index(stage_id) if stage_id in ids else None


class SalesforceMapping(StrictModel):
    """Overrides of the default Salesforce value → funnel stage maps."""

    lead_status: dict[str, str] = Field(default_factory=dict,
                                        description="Lead.Status value → funnel stage id.")
    opportunity_stage: dict[str, str] = Field(
        default_factory=dict, description="Opportunity.StageName → funnel stage id.")


class HubSpotMapping(StrictModel):
    """Overrides of the default HubSpot value → funnel stage maps."""

    lifecycle_stage: dict[str, str] = Field(
        default_factory=dict, description="Contact lifecyclestage → funnel stage id.")
    deal_stages: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="Pipeline id → {deal stage id → funnel stage id}.")


class MappingConfig(StrictModel):
    """CRM stage value → funnel stage id, merged over the built-in maps."""

    salesforce: SalesforceMapping = Field(default_factory=SalesforceMapping)
    hubspot: HubSpotMapping = Field(default_factory=HubSpotMapping)


class EmployeeBand(StrictModel):
    min: int = Field(..., ge=0, description="Smallest company size of the band.")
    points: int = Field(..., description="Points for a company of at least `min` employees.")


def _default_bands() -> list[EmployeeBand]:
    return [EmployeeBand(min=m, points=p) for m, p in ((1, 2), (50, 6), (200, 10), (1000, 15))]


class ScoringConfig(StrictModel):
    """Lead score tables and thresholds (score is 0-100)."""

    mql_threshold: int = Field(40, ge=0, le=100, description="Score that makes a lead an MQL.")
    sql_threshold: int = Field(70, ge=0, le=100, description="Score that makes a lead an SQL.")
    half_life_days: float = Field(30.0, gt=0,
                                  description="Engagement points halve over this many days.")
    title_points: dict[str, int] = Field(
        default_factory=lambda: {"chief": 20, "vp": 15, "vice president": 15, "director": 12,
                                 "head": 10, "manager": 6},
        description="Job-title keyword (lower case) → points; the best match counts.")
    industry_points: dict[str, int] = Field(
        default_factory=lambda: {"technology": 10, "software": 10, "finance": 8,
                                 "healthcare": 6, "manufacturing": 5},
        description="Industry (lower case) → points.")
    country_points: dict[str, int] = Field(default_factory=dict,
                                           description="Country (lower case) → points.")
    employee_bands: list[EmployeeBand] = Field(default_factory=_default_bands,
                                               description="Company-size bands.")
    engagement_points: dict[str, float] = Field(
        default_factory=lambda: {"email_open": 1.0, "email_click": 3.0, "form_submission": 8.0,
                                 "page_view": 0.5, "meeting": 10.0},
        description="Points per engagement event before decay.")
    engagement_cap: int = Field(40, ge=0, description="Most points engagement can add.")
    qualification_points: int = Field(5, ge=0, description="Points per BANT field present.")
    idle_penalty_days: int = Field(60, gt=0, description="No activity this long costs points.")
    idle_penalty: int = Field(10, ge=0, description="Points taken for long inactivity.")

    @model_validator(mode="after")
    def _check_order(self) -> ScoringConfig:
        if self.sql_threshold < self.mql_threshold:
            raise ValueError("sql_threshold must not be below mql_threshold")
        return self


class AlertsConfig(StrictModel):
    """Stale-deal rules and where alerts go."""

    idle_days: int = Field(14, gt=0, description="No activity this long makes a deal stale.")
    stage_overdue: bool = Field(True, description="Alert when time in stage exceeds max_days.")
    close_date_passed: bool = Field(True, description="Alert when an open deal's close date "
                                                      "has passed.")
    moved_backward: bool = Field(True, description="Alert when a deal moved back a stage.")
    skipped_stages: bool = Field(True, description="Alert when a deal skipped stages.")
    create_tasks: bool = Field(True, description="Keep one follow-up task per alerted deal "
                                                 "(and lead) in the CRM.")
    task_due_days: int = Field(2, ge=0, le=MAX_DUE_DAYS,
                               description="Tasks are due this many days out (at most 365).")
    max_new_tasks_per_owner_per_day: int = Field(
        25, ge=0, description="At most this many new stale-deal tasks per owner in any 24 "
                              "hours, the most valuable deals first (amount × how far past "
                              "their limits); the rest wait for later runs. 0: no limit.")
    max_new_tasks_per_run: int | None = Field(
        None, ge=1, description="At most this many new stale-deal tasks per CRM in one run; "
                                "the rest follow in later runs, the most valuable deals first "
                                "(useful for a first run on a large org). No limit when "
                                "absent.")
    snooze_tag: str = Field(
        "snooze:", description="A task whose subject or description holds this tag and a date "
                               "(`snooze: 2026-12-31`) silences its deal until that date. "
                               "\"\": no snooze.")
    webhook_url: str | None = Field(None, description="POST alerts here (Slack-compatible JSON).")
    webhook_digest: Literal["owner", "channel"] = Field(
        "owner", description="One webhook message per run for each owner (`owner`) or for "
                             "everyone (`channel`), listing new and resolved alerts.")

    _webhook = field_validator("webhook_url")(check_http_url)


class CrmWriteback(StrictModel):
    """The names one CRM keeps the funnel stage, score and deals' win probability under ("" skips
    the value)."""

    @property
    def stage_name(self) -> str:
        raise NotImplementedError

    @property
    def score_name(self) -> str:
        raise NotImplementedError

    @property
    def probability_name(self) -> str:
        raise NotImplementedError


PROBABILITY_HELP = ("for the calibrated win probability (the forecast's chance, in whole percent, "
                    "that the open deal is won within 180 days); empty (the default): not "
                    "written.")


class SalesforceWriteback(CrmWriteback):
    stage_field: str = Field("Funnel_Stage__c",
                             description="Lead/Opportunity field for the funnel stage; "
                                         "empty to skip.")
    score_field: str = Field("Funnel_Score__c", description="Lead field for the score; "
                                                            "empty to skip.")
    probability_field: str = Field("", description="Opportunity field (Percent) "
                                                   + PROBABILITY_HELP)

    @property
    def stage_name(self) -> str:
        return self.stage_field

    @property
    def score_name(self) -> str:
        return self.score_field

    @property
    def probability_name(self) -> str:
        return self.probability_field


class HubSpotWriteback(CrmWriteback):
    stage_property: str = Field("funnel_stage", description="Contact/deal property for the "
                                                            "funnel stage; empty to skip.")
    score_property: str = Field("funnel_score", description="Contact property for the score; "
                                                            "empty to skip.")
    probability_property: str = Field("", description="Deal property (number) "
                                                      + PROBABILITY_HELP)

    @property
    def stage_name(self) -> str:
        return self.stage_property

    @property
    def score_name(self) -> str:
        return self.score_property

    @property
    def probability_name(self) -> str:
        return self.probability_property


class WritebackConfig(StrictModel):
    """What funnelsync writes back, and under which names."""

    enabled: bool = Field(True, description="Write computed values back to the CRMs.")
    score_tolerance: float = Field(1.0, ge=0, description="Score changes up to this are not "
                                                          "written.")
    probability_tolerance: float = Field(
        1.0, ge=0, description="Win-probability changes up to this many percentage points are "
                               "not written (the estimate moves a little with every run).")
    rescore_interval_hours: float = Field(
        24.0, ge=0, description="Re-evaluate every record at least this often, so changes that "
                                "come with time alone (score decay, the idle penalty) reach the "
                                "CRM; 0 re-evaluates only records that changed.")
    salesforce: SalesforceWriteback = Field(default_factory=SalesforceWriteback)
    hubspot: HubSpotWriteback = Field(default_factory=HubSpotWriteback)

    def for_crm(self, name: str) -> CrmWriteback | None:
        """The write-back names of the CRM called ``name``; None for a name that is no CRM."""
        value = getattr(self, name) if name in type(self).model_fields else None
        return value if isinstance(value, CrmWriteback) else None


class LimitsConfig(StrictModel):
    """API budgets and client-side rate limits."""

    salesforce_quota_share: float = Field(
        0.8, gt=0, le=1, description="Largest share of the remaining Salesforce daily quota "
                                     "one run may use (0.8 keeps 20% head-room).")
    hubspot_requests_per_10s: int = Field(
        90, gt=0, le=MAX_HUBSPOT_REQUESTS_PER_10S,
        description="Client-side HubSpot limit (at most 10000).")
    hubspot_search_per_second: int = Field(
        4, gt=0, le=MAX_HUBSPOT_SEARCH_PER_SECOND,
        description="Client-side search limit (at most 100; HubSpot search allows about 5).")
    max_retry_seconds: float = Field(
        120.0, gt=0, le=MAX_RETRY_SECONDS,
        description="Give up on a call after retrying this long (at most 86400, a day).")
    metadata_ttl_hours: float = Field(
        24.0, ge=0, le=MAX_METADATA_TTL_HOURS,
        description="How long stage catalogs, owners and object descriptions read from a CRM "
                    "are trusted before a run asks again (0: every run; at most 8760, a "
                    "year). A stage or owner that pulled records name and the cache lacks is "
                    "read at once; --refresh-metadata and --full read everything again.")
    deletion_reconcile_days: float = Field(
        7.0, gt=0, le=366, description="HubSpot: how often a run reads the whole list of archived "
                               "records even though the counts of live records say nothing "
                               "was archived (they are read at once when the counts differ, "
                               "and by --full; at most 366).")


class AppConfig(StrictModel):
    """The whole configuration file."""

    salesforce: SalesforceConfig | None = None
    hubspot: HubSpotConfig | None = None
    state: StateConfig = Field(default_factory=StateConfig)
    funnel: FunnelConfig = Field(default_factory=FunnelConfig)
    mapping: MappingConfig = Field(default_factory=MappingConfig)
    scoring: ScoringConfig = Field(default_factory=ScoringConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    writeback: WritebackConfig = Field(default_factory=WritebackConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    # Operating rules (config_ops.py); absent sections switch the feature off.
    routing: RoutingConfig | None = None
    sla: SlaConfig | None = None
    nurture: NurtureConfig | None = None
    identity: IdentityConfig = Field(default_factory=IdentityConfig)  # config_identity.py
    report: ReportConfig = Field(default_factory=ReportConfig)  # config/report.py

    def sources(self) -> list[str]:
        """The CRMs this configuration names: its CRM connection sections that are present."""
        return [name for name in type(self).model_fields
                if isinstance(getattr(self, name), CrmConnection)]

    def cleartext_warnings(self) -> list[str]:
        """One warning per CRM URL that is plain http:// to a host other than localhost."""
        return [f"{name}.{key} uses http:// to a host other than localhost: credentials and "
                f"CRM data would travel in clear text (use https://)"
                for name in self.sources() for key in getattr(self, name).cleartext_keys()]
