"""The sandbox's SOQL parser and evaluator, pinned to Salesforce's behaviour and error texts."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from funnelsync.sandbox.salesforce.soql import (
    Cond,
    Lit,
    OrderItem,
    Query,
    SoqlError,
    compile,
    parse,
    run,
)

SCHEMA = {
    "Opportunity": {
        "Id": "id", "Name": "string", "Amount": "currency", "CloseDate": "date",
        "StageName": "picklist", "IsDeleted": "boolean", "SystemModstamp": "datetime",
        "OwnerId": "reference", "Probability": "percent", "Champion__c": "reference",
    },
    "User": {"Id": "id", "Name": "string", "Email": "email"},
    "Group": {"Id": "id", "Name": "string"},
    "Lead": {
        "Id": "id", "LastName": "string", "OwnerId": "reference",
        "ConvertedOpportunityId": "reference", "NumberOfEmployees": "int",
    },
}
REFERENCES = {
    "Lead": {"OwnerId": ("User", "Group"), "ConvertedOpportunityId": "Opportunity"},
    "Opportunity": {"Champion__c": "User"},
}
O1 = {"Id": "0061", "Name": "Acme - 200 seats", "Amount": 48000.0, "CloseDate": "2026-12-15",
      "StageName": "Prospecting", "IsDeleted": False,
      "SystemModstamp": "2026-11-20T08:00:00.000+0000", "OwnerId": "0051", "Probability": 10,
      "Champion__c": "0052"}
# 07:30 at -01:00 is 08:30 UTC: later than O1 although its text sorts earlier.
O2 = {"Id": "0062", "Name": "Globex renewal", "Amount": None, "CloseDate": "2026-11-30",
      "StageName": "Closed Won", "IsDeleted": False,
      "SystemModstamp": "2026-11-20T07:30:00.000-0100", "OwnerId": None, "Probability": 100}
O3 = {"Id": "0063", "Name": "initech 50%", "Amount": 1200.5, "CloseDate": "2027-01-10",
      "StageName": "Negotiation/Review", "IsDeleted": False,
      "SystemModstamp": "2026-11-19T23:59:59.999Z", "OwnerId": "0052", "Probability": 60}
O4 = {"Id": "0064", "Name": "Umbrella", "Amount": 48000, "CloseDate": "2026-12-15",
      "StageName": "Prospecting", "IsDeleted": True,
      "SystemModstamp": "2026-11-20T08:00:00Z", "OwnerId": "0059", "Probability": 10}
OPPS = [O1, O2, O3, O4]
USERS = [
    {"attributes": {"type": "User"}, "Id": "0051", "Name": "Dana Kim",
     "Email": "dana@example.test"},
    {"Id": "0052", "Name": "Lee Park", "Email": None},
    {"attributes": {"type": "Group"}, "Id": "00G1", "Name": "Inbound queue"},
]
LEADS = [
    {"Id": "00Q1", "LastName": "O'Brien", "OwnerId": "00G1", "ConvertedOpportunityId": None,
     "NumberOfEmployees": 12},
    {"Id": "00Q2", "LastName": "Ng", "OwnerId": "0051", "ConvertedOpportunityId": "0061",
     "NumberOfEmployees": None},
]
BY_ID = {r["Id"]: r for r in OPPS + USERS + LEADS}
URL = "/services/data/v59.0/sobjects/"
NO_COLUMN_TAIL = (
    "If you are attempting to use a custom field, be sure to append the '__c' after the custom "
    "field name. Please reference your WSDL or the describe call for the appropriate names."
)


def ids(soql: str, records: list[dict] = OPPS) -> list[str]:
    total, rows = run(soql, records, SCHEMA, BY_ID.get, references=REFERENCES)
    assert total == len(rows)
    return [row["Id"] for row in rows]


def error_of(soql: str) -> tuple[str, str]:
    with pytest.raises(SoqlError) as caught:
        run(soql, OPPS, SCHEMA, BY_ID.get)
    return caught.value.error_code, caught.value.message


# -- parsing ----------------------------------------------------------------------------------
def test_parse_builds_the_query_tree() -> None:
    query = parse("SELECT Id, Owner.Name FROM Opportunity WHERE SystemModstamp >= "
                  "2026-01-01T00:00:00Z ORDER BY SystemModstamp, Id DESC NULLS FIRST LIMIT 50")
    assert query == Query(
        obj="Opportunity",
        fields=("Id", "Owner.Name"),
        where=Cond("SystemModstamp", ">=",
                   Lit("datetime", "2026-01-01T00:00:00.000", "2026-01-01T00:00:00Z")),
        order_by=(OrderItem("SystemModstamp", True, True), OrderItem("Id", False, True)),
        limit=50,
        count_only=False,
    )


def test_parse_keywords_ignore_case_and_defaults_nulls_by_direction() -> None:
    query = parse("select count() from lead where Status <> 'Open' order by Name desc, Id asc")
    assert query == Query("lead", (), Cond("Status", "!=", Lit("string", "Open", "'Open'")),
                          (OrderItem("Name", False, False), OrderItem("Id", True, True)),
                          None, True)


def test_parse_decodes_string_escapes() -> None:
    where = parse(r"SELECT Id FROM Lead WHERE LastName = 'O\'Brien \\ co\n'").where
    assert where == Cond("LastName", "=", Lit("string", "O'Brien \\ co\n", r"'O\'Brien \\ co\n'"))


@pytest.mark.parametrize(
    ("text", "instant"),
    [
        ("2026-11-20T08:00:00Z", "2026-11-20T08:00:00.000"),
        ("2026-11-20T08:00:00.000Z", "2026-11-20T08:00:00.000"),
        ("2026-11-20T08:00:00.000+0000", "2026-11-20T08:00:00.000"),
        ("2026-11-20T09:00:00+01:00", "2026-11-20T08:00:00.000"),
        ("2026-11-20T07:00:00-0100", "2026-11-20T08:00:00.000"),
        ("2026-11-20T08:00:00.5Z", "2026-11-20T08:00:00.500"),
    ],
)
def test_datetime_literals_become_utc_instants(text: str, instant: str) -> None:
    where = parse(f"SELECT Id FROM Opportunity WHERE SystemModstamp = {text}").where
    assert where == Cond("SystemModstamp", "=", Lit("datetime", instant, text))


def test_malformed_query_message_points_at_the_token() -> None:
    assert error_of("SELEKT Id FROM Opportunity") == (
        "MALFORMED_QUERY",
        "SELEKT Id FROM Opportunity\n^\nERROR at Row:1:Column:1\nunexpected token: SELEKT",
    )


def test_mixing_and_with_or_needs_parentheses() -> None:
    assert error_of("SELECT Id FROM Opportunity WHERE Name = 'a' AND Name = 'b' OR Name = 'c'") == (
        "MALFORMED_QUERY",
        "SELECT Id FROM Opportunity WHERE Name = 'a' AND Name = 'b' OR Name = 'c'\n"
        + " " * 59 + "^\nERROR at Row:1:Column:60\nunexpected token: OR",
    )


def test_malformed_query_on_a_later_line() -> None:
    assert error_of("SELECT Id\nFROM Opportunity\nWHERE Name == 'x'") == (
        "MALFORMED_QUERY",
        "WHERE Name == 'x'\n" + " " * 12 + "^\nERROR at Row:3:Column:13\nunexpected token: =",
    )


@pytest.mark.parametrize(
    ("soql", "token"),
    [
        ("SELECT Id FROM Opportunity GROUP BY Name", "GROUP"),
        ("SELECT Id, (SELECT Id FROM OpportunityLineItems) FROM Opportunity", "("),
        ("SELECT MAX(Amount) FROM Opportunity", "("),
        ("SELECT COUNT(Id) FROM Opportunity", "Id"),
        ("SELECT Id FROM Opportunity LIMIT 10 OFFSET 5", "OFFSET"),
        ("SELECT Id FROM Opportunity WITH SECURITY_ENFORCED", "WITH"),
        ("SELECT Id FROM Opportunity WHERE Name = :name", ":name"),
        ("SELECT Id FROM Opportunity WHERE Name = 'open", "'open"),
        ("SELECT Id FROM Opportunity WHERE OwnerId IN ()", ")"),
        ("SELECT Id Opportunity", "Opportunity"),
        ("SELECT Id FROM Opportunity WHERE", "<EOF>"),
        ("SELECT Id FROM Opportunity ORDER BY", "<EOF>"),
        ("SELECT Id FROM Opportunity LIMIT 1.5", "1.5"),
        ("SELECT FROM Opportunity", "FROM"),
        ("SELECT Id, FROM Opportunity", "FROM"),
        ("SELECT Id FROM Opportunity WHERE CloseDate = TODAY", "TODAY"),
        ("SELECT Id FROM Opportunity WHERE CloseDate = 2026-02-30", "2026-02-30"),
        ("SELECT Id FROM Opportunity WHERE Amount > 5 AND NOT Amount = 7", "NOT"),
        ("SELECT Id FROM Opportunity ORDER BY Name NULLS MIDDLE", "MIDDLE"),
    ],
)
def test_unsupported_syntax_is_malformed(soql: str, token: str) -> None:
    code, message = error_of(soql)
    assert (code, message.rsplit("\n", 1)[-1]) == ("MALFORMED_QUERY", f"unexpected token: {token}")


def test_bad_string_escape_is_malformed() -> None:
    assert error_of(r"SELECT Id FROM Opportunity WHERE Name = 'a\qb'") == (
        "MALFORMED_QUERY",
        r"Invalid string literal 'a\qb'. Illegal character sequence '\q' in string literal.",
    )


# -- names and types --------------------------------------------------------------------------
def test_unknown_object_is_invalid_type() -> None:
    assert error_of("SELECT Id FROM Foo") == (
        "INVALID_TYPE",
        "sObject type 'Foo' is not supported. If you are attempting to use a custom object, be "
        "sure to append the '__c' after the entity name. Please reference your WSDL or the "
        "describe call for the appropriate names.",
    )


@pytest.mark.parametrize(
    "soql",
    [
        "SELECT Id, Foo__c FROM Opportunity",
        "SELECT Id FROM Opportunity WHERE Foo__c = 'x'",
        "SELECT Id FROM Opportunity ORDER BY Foo__c",
    ],
)
def test_unknown_field_is_invalid_field(soql: str) -> None:
    assert error_of(soql) == (
        "INVALID_FIELD", f"No such column 'Foo__c' on entity 'Opportunity'. {NO_COLUMN_TAIL}")


def test_unknown_field_on_a_related_object_names_that_object() -> None:
    assert error_of("SELECT Owner.Foo FROM Opportunity") == (
        "INVALID_FIELD", f"No such column 'Foo' on entity 'User'. {NO_COLUMN_TAIL}")


def test_a_relationship_is_not_a_column() -> None:
    assert error_of("SELECT Owner FROM Opportunity") == (
        "INVALID_FIELD", f"No such column 'Owner' on entity 'Opportunity'. {NO_COLUMN_TAIL}")


def test_unknown_relationship_is_invalid_field() -> None:
    # Champion__c's target is unknown without `references`, so Champion__r cannot be followed.
    assert error_of("SELECT Champion__r.Name FROM Opportunity") == (
        "INVALID_FIELD",
        "Didn't understand relationship 'Champion__r' in field path. If you are attempting to "
        "use a custom relationship, be sure to append the '__r' after the custom relationship "
        "name. Please reference your WSDL or the describe call for the appropriate names.",
    )


def test_duplicate_field_is_malformed() -> None:
    assert error_of("SELECT Id, Name, id FROM Opportunity") == (
        "MALFORMED_QUERY", "duplicate field selected: Id")


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ("CloseDate >= 2026-11-20T08:00:00Z",
         "value of filter criterion for field 'CloseDate' must be of type date and should not "
         "be enclosed in quotes"),
        ("SystemModstamp >= 2026-11-20",
         "value of filter criterion for field 'SystemModstamp' must be of type dateTime and "
         "should not be enclosed in quotes"),
        ("SystemModstamp >= '2026-11-20T08:00:00Z'",
         "value of filter criterion for field 'SystemModstamp' must be of type dateTime and "
         "should not be enclosed in quotes"),
        ("Name = 5",
         "value of filter criterion for field 'Name' must be of type string and should be "
         "enclosed in quotes"),
        ("IsDeleted = 'false'",
         "value of filter criterion for field 'IsDeleted' must be of type boolean and should "
         "not be enclosed in quotes"),
        ("Amount IN (5, '6')",
         "value of filter criterion for field 'Amount' must be of type double and should not "
         "be enclosed in quotes"),
        ("Amount LIKE '5%'", "invalid operator on field 'Amount': LIKE needs a text field"),
    ],
)
def test_wrong_literal_type_is_invalid_filter_operator(condition: str, message: str) -> None:
    soql = f"SELECT Id FROM Opportunity WHERE {condition}"
    assert error_of(soql) == ("INVALID_QUERY_FILTER_OPERATOR", message)


def test_names_ignore_case_and_output_uses_schema_case() -> None:
    total, rows = run("select ID, name, OWNER.NAME from OPPORTUNITY where STAGENAME = "
                      "'prospecting' and isdeleted = FALSE order by id", OPPS, SCHEMA, BY_ID.get)
    assert (total, rows) == (1, [{
        "attributes": {"type": "Opportunity", "url": f"{URL}Opportunity/0061"},
        "Id": "0061", "Name": "Acme - 200 seats",
        "Owner": {"attributes": {"type": "User", "url": f"{URL}User/0051"}, "Name": "Dana Kim"},
    }])


# -- rows -------------------------------------------------------------------------------------
def test_rows_have_rest_shape_with_nested_and_null_lookups() -> None:
    total, rows = run("SELECT Name, Owner.Name, Owner.Email, Amount FROM Opportunity "
                      "WHERE Id IN ('0061', '0062', '0063', '0064') ORDER BY Id",
                      OPPS, SCHEMA, BY_ID.get, api_version="60.0")
    url = "/services/data/v60.0/sobjects/"
    assert total == 4
    assert rows == [
        {"attributes": {"type": "Opportunity", "url": url + "Opportunity/0061"},
         "Name": "Acme - 200 seats",
         "Owner": {"attributes": {"type": "User", "url": url + "User/0051"},
                   "Name": "Dana Kim", "Email": "dana@example.test"},
         "Amount": 48000.0},
        {"attributes": {"type": "Opportunity", "url": url + "Opportunity/0062"},
         "Name": "Globex renewal", "Owner": None, "Amount": None},
        {"attributes": {"type": "Opportunity", "url": url + "Opportunity/0063"},
         "Name": "initech 50%",
         "Owner": {"attributes": {"type": "User", "url": url + "User/0052"},
                   "Name": "Lee Park", "Email": None},
         "Amount": 1200.5},
        {"attributes": {"type": "Opportunity", "url": url + "Opportunity/0064"},
         "Name": "Umbrella", "Owner": None, "Amount": 48000},
    ]
    assert [list(row) for row in rows[:2]] == [["attributes", "Name", "Owner", "Amount"]] * 2


def test_polymorphic_and_multi_level_lookups() -> None:
    total, rows = run("SELECT LastName, Owner.Name, ConvertedOpportunity.Owner.Name FROM Lead",
                      LEADS, SCHEMA, BY_ID.get, references=REFERENCES)
    url = "/services/data/v59.0/sobjects/"
    assert (total, rows) == (2, [
        {"attributes": {"type": "Lead", "url": url + "Lead/00Q1"}, "LastName": "O'Brien",
         "Owner": {"attributes": {"type": "Group", "url": url + "Group/00G1"},
                   "Name": "Inbound queue"},
         "ConvertedOpportunity": None},
        {"attributes": {"type": "Lead", "url": url + "Lead/00Q2"}, "LastName": "Ng",
         "Owner": {"attributes": {"type": "User", "url": url + "User/0051"}, "Name": "Dana Kim"},
         "ConvertedOpportunity": {
             "attributes": {"type": "Opportunity", "url": url + "Opportunity/0061"},
             "Owner": {"attributes": {"type": "User", "url": url + "User/0051"},
                       "Name": "Dana Kim"}}},
    ])


def test_custom_relationship_uses_references() -> None:
    total, rows = run("SELECT Champion__r.Name FROM Opportunity WHERE Id = '0061'",
                      OPPS, SCHEMA, BY_ID.get, references=REFERENCES)
    assert rows[0]["Champion__r"] == {
        "attributes": {"type": "User", "url": "/services/data/v59.0/sobjects/User/0052"},
        "Name": "Lee Park"}


def test_relationship_fields_need_a_resolver() -> None:
    with pytest.raises(ValueError, match="resolve"):
        compile("SELECT Owner.Name FROM Opportunity", SCHEMA)


# -- WHERE ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("SystemModstamp >= 2026-11-20T08:00:00Z", ["0061", "0062", "0064"]),
        ("SystemModstamp > 2026-11-20T09:00:00+01:00", ["0062"]),
        ("SystemModstamp > 2026-11-20T08:15:00.000Z", ["0062"]),
        ("SystemModstamp = 2026-11-20T09:30:00.000+0100", ["0062"]),
        ("SystemModstamp < 2026-11-20T00:00:00Z", ["0063"]),
        ("CloseDate = 2026-12-15", ["0061", "0064"]),
        ("CloseDate > 2026-12-01", ["0061", "0063", "0064"]),
        ("CloseDate <= 2026-11-30", ["0062"]),
        ("Name = 'ACME - 200 SEATS'", ["0061"]),
        ("StageName IN ('closed won', 'PROSPECTING')", ["0061", "0062", "0064"]),
        ("Amount = null", ["0062"]),
        ("Amount != null", ["0061", "0063", "0064"]),
        ("OwnerId != '0051'", ["0062", "0063", "0064"]),
        ("OwnerId <> '0051'", ["0062", "0063", "0064"]),
        ("OwnerId NOT IN ('0051', '0052')", ["0062", "0064"]),
        ("OwnerId IN ('0051', null)", ["0061", "0062"]),
        ("Amount >= 48000", ["0061", "0064"]),
        ("Amount < 48000.5", ["0061", "0063", "0064"]),
        ("Amount > -1", ["0061", "0063", "0064"]),
        ("Amount > null", []),
        ("Probability = 10", ["0061", "0064"]),
        ("IsDeleted = true", ["0064"]),
        ("IsDeleted = FALSE", ["0061", "0062", "0063"]),
        ("Name LIKE 'acme%'", ["0061"]),
        ("Name LIKE '%re%'", ["0062", "0064"]),
        ("Name LIKE 'Umbrell_'", ["0064"]),
        (r"Name LIKE '%50\%'", ["0063"]),
        ("Name LIKE null", []),
        ("Owner.Name = 'dana kim'", ["0061"]),
        ("Owner.Name != null", ["0061", "0063"]),
        ("NOT StageName = 'Prospecting'", ["0062", "0063"]),
        ("(NOT Amount = null) AND IsDeleted = false", ["0061", "0063"]),
        ("StageName = 'Prospecting' AND (IsDeleted = false OR Amount = null)", ["0061"]),
        ("(StageName = 'Prospecting' AND IsDeleted = false) OR Amount = null", ["0061", "0062"]),
        ("Amount = null OR IsDeleted = true OR Name LIKE 'init%'", ["0062", "0063", "0064"]),
        ("NOT (StageName = 'Prospecting' OR Amount = null)", ["0063"]),
        # the key filter of incremental pulls: later, or the same time and a greater Id
        ("SystemModstamp > 2026-11-20T08:00:00Z OR (SystemModstamp = 2026-11-20T08:00:00Z "
         "AND Id > '0061')", ["0062", "0064"]),
        ("SystemModstamp > 2026-11-20T08:00:00Z OR (SystemModstamp = 2026-11-20T08:00:00Z "
         "AND Id > '0064')", ["0062"]),
        ("SystemModstamp > 2026-11-19T23:59:59.999Z OR (SystemModstamp = "
         "2026-11-19T23:59:59.999Z AND Id > '0063')", ["0061", "0062", "0064"]),
    ],
)
def test_where(condition: str, expected: list[str]) -> None:
    assert ids(f"SELECT Id FROM Opportunity WHERE {condition}") == expected


# -- ORDER BY, LIMIT, COUNT() -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        ("SystemModstamp, Id", ["0063", "0061", "0064", "0062"]),
        ("SystemModstamp DESC, Id DESC", ["0062", "0064", "0061", "0063"]),
        ("Amount", ["0062", "0063", "0061", "0064"]),
        ("Amount DESC", ["0061", "0064", "0063", "0062"]),
        ("Amount ASC NULLS LAST", ["0063", "0061", "0064", "0062"]),
        ("Amount DESC NULLS FIRST", ["0062", "0061", "0064", "0063"]),
        ("Name", ["0061", "0062", "0063", "0064"]),
        ("Name DESC", ["0064", "0063", "0062", "0061"]),
        ("CloseDate ASC, Name DESC", ["0062", "0064", "0061", "0063"]),
        ("Owner.Name, Id DESC", ["0064", "0062", "0061", "0063"]),
        ("IsDeleted DESC, Id", ["0064", "0061", "0062", "0063"]),
    ],
)
def test_order_by(order_by: str, expected: list[str]) -> None:
    assert ids(f"SELECT Id FROM Opportunity ORDER BY {order_by}") == expected


def test_the_key_filter_in_key_order_continues_inside_a_shared_time() -> None:
    soql = ("SELECT Id FROM Opportunity WHERE SystemModstamp > 2026-11-20T08:00:00Z OR "
            "(SystemModstamp = 2026-11-20T08:00:00Z AND Id > '0061') ORDER BY SystemModstamp, Id")
    assert ids(soql) == ["0064", "0062"]


def test_order_by_is_stable_for_equal_keys() -> None:
    assert ids("SELECT Id FROM Opportunity ORDER BY CloseDate", [O4, O3, O2, O1]) == [
        "0062", "0064", "0061", "0063"]


def test_limit_applies_after_order_by() -> None:
    assert ids("SELECT Id FROM Opportunity ORDER BY Id DESC LIMIT 2") == ["0064", "0063"]
    assert ids("SELECT Id FROM Opportunity LIMIT 0") == []


def test_count_returns_a_total_and_no_rows() -> None:
    assert run("select count() from opportunity", OPPS, SCHEMA) == (4, [])
    assert run("SELECT COUNT() FROM Opportunity WHERE IsDeleted = false", OPPS, SCHEMA) == (3, [])
    assert run("SELECT COUNT() FROM Opportunity LIMIT 2", OPPS, SCHEMA) == (2, [])


def test_compiled_query_runs_repeatedly_over_raw_records() -> None:
    compiled = compile("SELECT Id, Owner.Name FROM opportunity WHERE IsDeleted = false "
                       "ORDER BY SystemModstamp DESC", SCHEMA, BY_ID.get)
    assert (compiled.obj, compiled.fields, compiled.count_only, compiled.limit) == (
        "Opportunity", ("Id", "Owner.Name"), False, None)
    assert [compiled.matches(r) for r in OPPS] == [True, True, True, False]
    selected = compiled.select(OPPS)
    assert [r["Id"] for r in selected] == ["0062", "0061", "0063"]
    assert selected[1] is O1
    assert compiled.project(O2) == {
        "attributes": {"type": "Opportunity", "url": f"{URL}Opportunity/0062"},
        "Id": "0062", "Owner": None}
    assert compiled.count(OPPS) == 3


def test_sandbox_soql_imports_nothing_else_from_funnelsync() -> None:
    package = Path(__file__).resolve().parents[2] / "funnelsync" / "sandbox" / "salesforce" / "soql"
    imported = set()
    for name in ("__init__.py", "parse.py", "evaluate.py"):
        for node in ast.walk(ast.parse((package / name).read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
    assert {m for m in imported if m.startswith("funnelsync")} == {
        "funnelsync.sandbox.salesforce.soql.parse", "funnelsync.sandbox.salesforce.soql.evaluate"}
