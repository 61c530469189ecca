"""Each CRM is declared once (funnelsync.crm): an AST scan of the package finds no code outside
crm/, connectors/, mapping/ and sandbox/ that branches on a CRM's name, and the registry holds
the declarations the rest of the code reads.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import get_args

import pytest

from funnelsync.app.doctor import CRM_CHECKS
from funnelsync.config.models import AppConfig, WritebackConfig
from funnelsync.config.operations import NurtureConfig
from funnelsync.crm import CRM_NAMES, CRMS, crm_spec
from funnelsync.crm.source import Source
from funnelsync.errors import ConfigError
from funnelsync.mapping.funnel import StageMaps
from funnelsync.mapping.schema import Source as SourceLiteral

PACKAGE = Path(__file__).resolve().parents[2] / "funnelsync"
NAMES = frozenset({"salesforce", "hubspot"})
MAY_BRANCH = {"crm", "connectors", "mapping", "sandbox"}  # the packages that know each CRM


# -- the scan -----------------------------------------------------------------------------------

def _names_in(node: ast.AST | None) -> set[str]:
    """CRM names written as a literal in ``node`` itself or directly inside a literal
    tuple/list/set (``x in ("salesforce", ...)``)."""
    if isinstance(node, ast.Constant) and node.value in NAMES:
        return {node.value}
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return {e.value for e in node.elts if isinstance(e, ast.Constant) and e.value in NAMES}
    return set()


def _branch_uses(node: ast.AST) -> list[tuple[str, str]]:
    """(role, name) for a CRM name that ``node`` compares, tests membership in, uses as a
    dict key or subscript, ``.get``s, or matches a case on."""
    if isinstance(node, ast.Compare):
        found = set().union(*(_names_in(n) for n in (node.left, *node.comparators)))
        return [("compare", n) for n in sorted(found)]
    if isinstance(node, ast.Dict):
        return [("dict key", n) for k in node.keys for n in sorted(_names_in(k))]
    if isinstance(node, ast.Subscript):
        return [("subscript", n) for n in sorted(_names_in(node.slice))]
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get" and node.args):
        return [("get", n) for n in sorted(_names_in(node.args[0]))]
    if isinstance(node, ast.MatchValue):
        return [("match", n) for n in sorted(_names_in(node.value))]
    return []


def branch_uses(source: str) -> list[tuple[int, str, str]]:
    """(line, role, name) of every branching use of a CRM name in ``source``."""
    return sorted((node.lineno, role, name)  # type: ignore[attr-defined]
                  for node in ast.walk(ast.parse(source)) for role, name in _branch_uses(node))


def literal_names(source: str) -> set[str]:
    """Every CRM name written as a string literal in ``source``, in any role."""
    return {n.value for n in ast.walk(ast.parse(source))
            if isinstance(n, ast.Constant) and n.value in NAMES}


def modules(under: Path = PACKAGE) -> list[Path]:
    return sorted(p for p in under.rglob("*.py") if "__pycache__" not in p.parts)


def may_branch(path: Path) -> bool:
    return path.relative_to(PACKAGE).parts[0] in MAY_BRANCH


def test_no_crm_name_branch_outside_the_packages_that_know_each_crm() -> None:
    checked = [p for p in modules() if not may_branch(p)]
    assert len(checked) > 50  # reports, rules, sync, app, cli, config, store, ...
    found = [f"{p.relative_to(PACKAGE)}:{line} {role} {name!r}" for p in checked
             for line, role, name in branch_uses(p.read_text(encoding="utf-8"))]
    assert found == []


def test_the_scan_finds_the_names_where_the_crms_are_declared() -> None:
    declared = {p.name: literal_names(p.read_text(encoding="utf-8"))
                for p in modules(PACKAGE / "crm")}
    assert declared["salesforce.py"] == {"salesforce"}
    assert declared["hubspot.py"] == {"hubspot"}


def test_the_scan_flags_every_branching_form() -> None:
    code = '''
if source == "salesforce":
    pass
ok = "hubspot" != name or name in ("salesforce", "x")
table = {"hubspot": 1}
value = options["salesforce"]
other = options.get("hubspot")
match name:
    case "salesforce":
        pass
label = f(name="hubspot")
'''
    assert branch_uses(code) == [
        (2, "compare", "salesforce"), (4, "compare", "hubspot"), (4, "compare", "salesforce"),
        (5, "dict key", "hubspot"), (6, "subscript", "salesforce"), (7, "get", "hubspot"),
        (9, "match", "salesforce")]
    assert literal_names(code) == NAMES


def funnelsync_areas_imported(path: Path) -> set[str]:
    """The funnelsync packages (first part after ``funnelsync.``) a module imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.add(node.module)
    return {name.split(".")[1] for name in found if name.startswith("funnelsync.")}


def test_crm_imports_only_config_connectors_mapping_and_errors() -> None:
    imported = {p.name: funnelsync_areas_imported(p) for p in modules(PACKAGE / "crm")}
    assert imported["source.py"] >= {"config", "connectors", "crm", "mapping"}
    assert set().union(*imported.values()) <= {"config", "connectors", "crm", "errors",
                                               "mapping"}


# -- the registry -------------------------------------------------------------------------------

def test_registry_names_in_declaration_order() -> None:
    assert CRM_NAMES == ("salesforce", "hubspot")
    assert list(CRMS) == ["salesforce", "hubspot"]
    assert [crm_spec(n).label for n in CRM_NAMES] == ["Salesforce", "HubSpot"]


def test_registry_agrees_with_the_config_the_schema_and_the_doctor() -> None:
    config = AppConfig.model_validate({"salesforce": {"session_id": "s",
                                                      "instance_url": "https://x.example"},
                                       "hubspot": {"access_token": "t"}})
    assert config.sources() == list(CRM_NAMES)
    assert AppConfig().sources() == []
    assert tuple(get_args(SourceLiteral)) == CRM_NAMES
    assert set(CRM_CHECKS) == set(CRM_NAMES)
    assert [WritebackConfig().for_crm(n) is not None for n in CRM_NAMES] == [True, True]
    assert WritebackConfig().for_crm("enabled") is None


def test_kinds_map_to_the_crm_objects_and_raw_keys() -> None:
    sf, hs = crm_spec("salesforce"), crm_spec("hubspot")
    assert dict(sf.objects) == {"leads": "Lead", "deals": "Opportunity"}
    assert dict(hs.objects) == {"leads": "contacts", "deals": "deals"}
    assert dict(sf.cursor_fields) == {"leads": "SystemModstamp", "deals": "SystemModstamp"}
    assert dict(hs.cursor_fields) == {"leads": "lastmodifieddate",
                                      "deals": "hs_lastmodifieddate"}
    assert (sf.id_field, sf.deleted_flag, hs.id_field, hs.deleted_flag) == (
        "Id", "IsDeleted", "id", "archived")


def test_the_connectors_use_the_declared_objects_and_cursors() -> None:
    from funnelsync.connectors.hubspot import connector as hs_connector
    from funnelsync.connectors.salesforce import query as sf_query

    assert dict(crm_spec("salesforce").objects) == sf_query.OBJECTS
    assert set(crm_spec("salesforce").cursor_fields.values()) == {sf_query.CURSOR_FIELD}
    assert dict(crm_spec("hubspot").objects) == hs_connector.OBJECTS
    hs = crm_spec("hubspot")
    assert {hs.objects[k]: f for k, f in hs.cursor_fields.items()} == hs_connector.MODIFIED


def test_stage_vocabularies_name_their_field_table_and_setup() -> None:
    maps = StageMaps()
    sf_lead, sf_deal = crm_spec("salesforce").stages["lead"], crm_spec("salesforce").stages["deal"]
    hs_lead, hs_deal = crm_spec("hubspot").stages["lead"], crm_spec("hubspot").stages["deal"]
    assert [v.value_field for v in (sf_lead, sf_deal, hs_lead, hs_deal)] == [
        "Status", "StageName", "lifecyclestage", "dealstage"]
    assert sf_lead.table(maps) is maps.lead_status
    assert sf_deal.table(maps, "ignored") is maps.opportunity_stage
    assert hs_lead.table(maps) is maps.lifecycle_stage
    assert hs_deal.table(maps) is maps.deal_stages["default"]
    assert hs_deal.table(maps, "nope") == {}
    assert (sf_deal.pipelines(maps), hs_deal.pipelines(maps)) == ([None], ["default"])
    assert sf_lead.where() == "Salesforce Setup → Lead Status picklist"
    assert hs_deal.where("sales") == "HubSpot deal pipeline 'sales' settings"
    assert hs_deal.where(None) == "HubSpot deal pipeline 'default' settings"


def test_nurture_reentry_and_writeback_targets_come_from_config() -> None:
    nurture = NurtureConfig(salesforce_status="Working", hubspot_lifecycle="lead")
    assert [crm_spec(n).nurture_reentry(nurture) for n in CRM_NAMES] == ["Working", "lead"]
    wb = WritebackConfig.model_validate({"salesforce": {"score_field": ""}})
    assert crm_spec("salesforce").writeback_targets(wb) == {
        "Lead": ["Funnel_Stage__c"], "Opportunity": ["Funnel_Stage__c"]}
    assert crm_spec("hubspot").writeback_targets(wb) == {
        "contacts": ["funnel_stage", "funnel_score"], "deals": ["funnel_stage"]}


def test_unknown_crm_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown CRM 'pipedrive'") as caught:
        crm_spec("pipedrive")
    assert caught.value.hint == "known: salesforce, hubspot"
    with pytest.raises(ConfigError, match="unknown CRM 'Salesforce'"):
        Source("Salesforce", object(), AppConfig(), StageMaps())  # type: ignore[arg-type]
