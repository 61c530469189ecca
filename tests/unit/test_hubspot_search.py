"""HubSpot search keyed by (modification time, hs_object_id): request shapes and page steps."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from funnelsync.connectors.hubspot.search import (
    SEARCH_LIMIT,
    SearchState,
    Step,
    advance,
    search_body,
)

MOD = "hs_lastmodifieddate"
T = 1_732_000_000_000


def deal(rid: int, ms: int) -> dict[str, Any]:
    return {"id": str(rid), "properties": {MOD: str(ms), "hs_object_id": str(rid)}}


def groups(state: SearchState) -> list[list[tuple[str, str, str]]]:
    body = search_body(state, MOD, ["amount"])
    return [[(f["propertyName"], f["operator"], f["value"]) for f in g["filters"]]
            for g in body["filterGroups"]]


def sort_of(state: SearchState) -> str:
    return search_body(state, MOD, [])["sorts"][0]["propertyName"]


def test_without_an_id_the_search_is_a_closed_start() -> None:
    state = SearchState("main", T)
    assert groups(state) == [[(MOD, "GTE", str(T))]]
    assert sort_of(state) == MOD


def test_with_an_id_the_search_is_later_or_same_time_and_greater_id() -> None:
    state = SearchState(mode="main", ts=T, last_id=812)
    assert groups(state) == [[(MOD, "GT", str(T))],
                             [(MOD, "EQ", str(T)), ("hs_object_id", "GT", "812")]]
    assert sort_of(state) == MOD


def test_a_split_walks_one_time_by_id() -> None:
    state = SearchState(mode="split", ts=T, last_id=812)
    assert groups(state) == [[(MOD, "EQ", str(T)), ("hs_object_id", "GT", "812")]]
    assert sort_of(state) == "hs_object_id"
    body = search_body(state, MOD, ["amount"])
    assert (body["limit"], body["after"], body["properties"]) == (SEARCH_LIMIT, "0", ["amount"])


def test_a_last_page_completes_the_pull_at_its_last_time_and_highest_id_there() -> None:
    page = [deal(5, T + 1), deal(9, T + 3), deal(2, T + 3)]
    step = advance(SearchState("main", T), page, MOD)
    assert step == Step(page, T + 3, 9, None)


def test_a_last_page_at_the_key_time_keeps_the_higher_of_the_ids() -> None:
    page = [deal(900, T), deal(850, T)]
    assert advance(SearchState("main", T, 812), page, MOD) == Step(page, T, 900, None)
    assert advance(SearchState("main", T, 812), [], MOD) == Step([], T, 812, None)


def test_a_full_page_leaves_its_last_time_to_the_next_page() -> None:
    page = [deal(i, T + i // 100) for i in range(1, SEARCH_LIMIT + 1)]  # last time: T + 2
    step = advance(SearchState("main", T), page, MOD)
    assert step.records == page[:199]  # T + 0 and T + 1; record 200 (T + 2) comes next page
    assert (step.ts, step.last_id, step.following) == (T + 2, 0,
                                                       SearchState("main", T + 2, 0))


def test_a_full_page_on_one_time_walks_that_time_by_id_from_the_key() -> None:
    page = [deal(i, T + 5) for i in range(1000, 1000 + SEARCH_LIMIT)]
    later = advance(SearchState("main", T, 812), page, MOD)
    assert later == Step([], T, 812, SearchState("split", T + 5, 0))
    same = advance(SearchState("main", T + 5, 812), page, MOD)
    assert same == Step([], T + 5, 812, SearchState("split", T + 5, 812))


def test_a_split_moves_its_key_to_the_highest_id_then_hands_back_to_main() -> None:
    full = [deal(i, T) for i in range(900, 900 + SEARCH_LIMIT)]
    step = advance(SearchState("split", T, 812), full, MOD)
    assert step == Step(full, T, 1099, SearchState("split", T, 1099))
    tail = [deal(1100, T), deal(1101, T)]
    assert advance(SearchState("split", T, 1099), tail, MOD) == Step(
        tail, T, 1101, SearchState("main", T, 1101))
    assert advance(SearchState("split", T, 1101), [], MOD) == Step(
        [], T, 1101, SearchState("main", T, 1101))


def test_a_stored_key_starts_main_at_its_time_and_id() -> None:
    moment = datetime.fromtimestamp(T / 1000, tz=UTC)
    assert SearchState.start(moment, "812") == SearchState("main", T, 812)
    assert SearchState.start(moment) == SearchState("main", T, 0)
