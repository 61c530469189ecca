"""Config model of the [identity] section: linking one person's records across both CRMs."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, PrivateAttr, field_validator, model_validator

from funnelsync.config.base import StrictModel
from funnelsync.config.overrides import Overrides, load_overrides
from funnelsync.errors import ConfigError

FREE_MAIL_DOMAINS: tuple[str, ...] = (
    "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "ymail.com", "hotmail.com",
    "outlook.com", "live.com", "msn.com", "icloud.com", "me.com", "mac.com", "aol.com",
    "gmx.de", "gmx.net", "web.de", "t-online.de", "proton.me", "protonmail.com", "mail.com",
    "yandex.ru", "mail.ru", "qq.com", "163.com", "126.com", "zoho.com", "fastmail.com")


class IdentityConfig(StrictModel):
    """How records of the same person are linked, and what counts as a disagreement."""

    enabled: bool = Field(True, description="Link people across CRMs (combined report, audit).")
    fold_plus_addressing: bool = Field(
        False, description="Treat ana+news@x.com as ana@x.com when matching e-mails.")
    name_domain_rule: bool = Field(
        False, description="Also link records with the same company e-mail domain and the "
                           "same first and last name (free-mail domains never match).")
    name_domain_confidence: float = Field(
        0.8, gt=0, lt=1, description="Confidence given to links made by the name/domain rule.")
    free_mail_domains: list[str] = Field(
        default_factory=lambda: list(FREE_MAIL_DOMAINS),
        description="Domains shared by unrelated people; the name/domain rule skips them.")
    overrides_file: Path | None = Field(
        None, description="TOML or CSV of manual `link` / `never-link` pairs (record keys such "
                          "as salesforce:lead:00Q... or e-mails); they win over the rules.")
    conflict_distance: int = Field(
        2, ge=1, description="Funnel stages apart (lost counts one step before the first "
                             "stage) for an identity_stage_conflict finding.")
    owner_conflicts: Literal["off", "email", "name"] = Field(
        "email", description="identity_owner_conflict: `email` compares owner e-mails when "
                             "both are known (the sync reads each CRM's owner list), `name` "
                             "falls back to owner names when e-mails are unknown, `off`.")
    writeback_furthest_stage: bool = Field(
        False, description="Write the person's furthest funnel stage to the funnel-stage "
                           "field of their records in the other CRM.")

    _overrides: Overrides = PrivateAttr(default_factory=Overrides)

    @field_validator("free_mail_domains")
    @classmethod
    def _lower(cls, domains: list[str]) -> list[str]:
        return [d.strip().lower() for d in domains if d.strip()]

    @model_validator(mode="after")
    def _read_overrides(self) -> IdentityConfig:
        """The overrides file is read with the configuration, so `config check` reports its
        problems and linking stays a pure function of the loaded config."""
        try:
            self._overrides = load_overrides(self.overrides_file)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        return self

    @property
    def overrides(self) -> Overrides:
        """The manual link / never-link pairs of ``overrides_file`` (none without a file)."""
        return self._overrides


__all__ = ["FREE_MAIL_DOMAINS", "IdentityConfig"]
