"""Each CRM declared once: objects, cursor fields, write-back names, vocabulary, factories.

``CRMS`` maps a CRM's name to its declaration (spec.py); ``crm_spec(name)`` looks one up. Code
outside crm/, connectors/, mapping/ and sandbox/ reads a declaration instead of branching on a
CRM's name. Source (source.py) is a CRM as one sync run uses it, its metadata read through the
cache of metadata.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from funnelsync.crm.hubspot import HUBSPOT
from funnelsync.crm.salesforce import SALESFORCE
from funnelsync.crm.spec import CrmSpec, StageVocabulary
from funnelsync.errors import ConfigError

CRMS: Mapping[str, CrmSpec] = MappingProxyType({s.name: s for s in (SALESFORCE, HUBSPOT)})
CRM_NAMES: tuple[str, ...] = tuple(CRMS)


def crm_spec(name: str) -> CrmSpec:
    """The declaration of the CRM called ``name``; ConfigError for a name that is no CRM."""
    spec = CRMS.get(name)
    if spec is None:
        raise ConfigError(f"unknown CRM {name!r}", hint=f"known: {', '.join(CRM_NAMES)}")
    return spec


__all__ = ["CRMS", "CRM_NAMES", "CrmSpec", "StageVocabulary", "crm_spec"]
