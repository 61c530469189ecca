"""The public API is what `__all__` says: every name exists, and the list is the intended one."""

from __future__ import annotations

import importlib

import pytest

import funnelsync

INTENDED = [
    "AppConfig", "AuthError", "CatalogStage", "ConfigError", "DataError", "FunnelDeal",
    "FunnelLead", "FunnelsyncError", "LockHeld", "RateLimited", "RemoteError", "RunResult",
    "Sandbox", "StageChange", "Store", "SyncJob", "__version__", "load_config", "parse_config",
]


def test_package_all_is_the_intended_public_api() -> None:
    assert sorted(funnelsync.__all__) == sorted(INTENDED)
    assert len(set(funnelsync.__all__)) == len(funnelsync.__all__)


def test_every_public_name_exists_and_is_documented() -> None:
    for name in funnelsync.__all__:
        value = getattr(funnelsync, name)
        if name != "__version__":
            assert value.__doc__, f"{name} has no docstring"
    assert funnelsync.__version__ == "0.1.0"


def test_star_import_gives_exactly_all() -> None:
    namespace: dict[str, object] = {}
    exec("from funnelsync import *", namespace)  # noqa: S102 - the point of the test
    assert sorted(k for k in namespace if k != "__builtins__") == \
        sorted(n for n in funnelsync.__all__)


@pytest.mark.parametrize(("module", "names"), [
    ("funnelsync.mapping.salesforce", [
        "BANT_FIELDS", "HISTORY_FIELDS", "LEAD_FIELDS", "LEAD_STATUS_FIELDS",
        "OPPORTUNITY_FIELDS", "OPPORTUNITY_STAGE_FIELDS", "OPTIONAL_OPPORTUNITY_FIELDS",
        "lead_fields", "map_catalog", "map_history", "map_lead", "map_opportunity",
        "opportunity_fields", "order_history", "writeback_fields"]),
    ("funnelsync.mapping.hubspot", [
        "BANT_PROPERTIES", "CONTACT_PROPERTIES", "DEAL_PROPERTIES", "HubSpotCatalog",
        "contact_properties", "deal_properties", "format_score", "map_contact", "map_deal",
        "map_pipelines", "parse_employees", "stage_changes_from_deal", "writeback_fields"]),
    ("funnelsync.mapping.normalize", [
        "SAMPLES", "NormalizedItem", "load_catalog", "make_mapper", "normalize_stream",
        "open_sample", "record_json", "sample_catalog"]),
    ("funnelsync.mapping.result", ["MapResult", "build_model", "unmapped_warning"]),
    ("funnelsync.mapping.schema", ["CatalogStage", "FunnelDeal", "FunnelLead", "Source",
                                   "StageChange"]),
    ("funnelsync.errors", [
        "EXIT_LOCKED", "EXIT_OK", "EXIT_PARTIAL", "EXIT_REMOTE", "EXIT_USAGE", "AuthError",
        "ConfigError", "DataError", "FunnelsyncError", "LockHeld", "RateLimited",
        "RemoteError", "exit_code_for"]),
])
def test_module_all_lists_exist(module: str, names: list[str]) -> None:
    """Other features may add names to these modules; the ones other code relies on stay."""
    mod = importlib.import_module(module)
    assert set(names) <= set(mod.__all__)
    for name in mod.__all__:
        assert hasattr(mod, name), f"{module}.{name} is listed in __all__ but missing"
