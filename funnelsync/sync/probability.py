"""The calibrated win probability each open deal should carry in the CRM (write-back opt-in).

The figure is the forecast's: the chance, from the stage history, that the deal is won within
the next 180 days. It is computed once per run over the whole store, only when some CRM names a
field for it, and rounded to whole percent so a recomputation that moves it a little writes
nothing (``writeback.probability_tolerance`` absorbs the rest).
"""

from __future__ import annotations

from datetime import datetime

from funnelsync.config.models import AppConfig
from funnelsync.reports.revenue import win_probabilities
from funnelsync.store import Store


def wanted(config: AppConfig) -> bool:
    """Whether write-back is on and some configured CRM names a win-probability field."""
    if not config.writeback.enabled:
        return False
    crms = (config.writeback.for_crm(name) for name in config.sources())
    return any(crm is not None and crm.probability_name.strip() for crm in crms)


def deal_probabilities(store: Store, config: AppConfig,
                       now: datetime) -> dict[str, tuple[int, str]]:
    """Record key → (win probability in whole percent, why); {} when nothing writes it."""
    if not wanted(config):
        return {}
    return {key: (round(value), why)
            for key, (value, why) in win_probabilities(store, config, now).items()}


__all__ = ["deal_probabilities", "wanted"]
