"""Config model of [report]: how reports and forecasts present money."""

from __future__ import annotations

from pydantic import Field

from funnelsync.config.base import StrictModel


class ReportConfig(StrictModel):
    """Report settings."""

    currency: str | None = Field(
        None, pattern=r"^[A-Z]{3}$",
        description="ISO code of the one currency of every total (default: the Salesforce "
                    "org's corporate currency, else USD).")


__all__ = ["ReportConfig"]
