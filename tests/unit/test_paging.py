"""Paging: batched, the token follower and its repeat guard, both wire dialects, resume tokens."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from itertools import count, islice
from typing import Any

import pytest

from funnelsync.connectors.hubspot.search import SearchState
from funnelsync.connectors.paging import (
    AfterKey,
    AfterPage,
    BulkResume,
    Finished,
    ListResume,
    SoqlPage,
    SoqlResume,
    after_pages,
    batched,
    decode_hubspot_resume,
    decode_salesforce_resume,
    follow,
    next_after,
    next_records,
    soql_pages,
)
from funnelsync.errors import RemoteError

NEXT = "/services/data/v59.0/query/01gD0000002HU6KIAW-2000"
NEXT2 = "/services/data/v59.0/query/01gD0000002HU6KIAW-4000"
STAMP = datetime(2026, 11, 20, 8, 0, 0, 500000, tzinfo=UTC)
KEY = AfterKey(STAMP, "00Q5e000001AbCdEAF")


# -- batched -------------------------------------------------------------------------------


def test_batched_cuts_in_order_with_a_short_last_batch() -> None:
    assert list(batched([1, 2, 3, 4, 5], 2)) == [[1, 2], [3, 4], [5]]


def test_batched_exact_multiple_has_no_empty_tail() -> None:
    assert list(batched("abcdef", 3)) == [["a", "b", "c"], ["d", "e", "f"]]


def test_batched_edge_sizes() -> None:
    assert list(batched([], 100)) == []
    assert list(batched([7, 8], 100)) == [[7, 8]]
    assert list(batched([7, 8], 1)) == [[7], [8]]


def test_batched_reads_only_what_it_yields() -> None:
    numbers = count(1)
    assert list(islice(batched(numbers, 3), 2)) == [[1, 2, 3], [4, 5, 6]]
    assert next(numbers) == 7


def test_batched_takes_dict_keys_once_each() -> None:
    assert list(batched(dict.fromkeys(["a", "b", "a", "c"]), 2)) == [["a", "b"], ["c"]]


@pytest.mark.parametrize("size", [0, -1])
def test_batched_refuses_a_size_below_one(size: int) -> None:
    with pytest.raises(ValueError, match=f"batch size must be at least 1, not {size}"):
        list(batched([1], size))


# -- follow and the repeat guard -----------------------------------------------------------


def script(answers: dict[Any, Any], calls: list[Any]) -> Callable[[Any], Any]:
    """A fake call answering from ``answers`` by its argument, noting each argument."""
    def call(token: Any) -> Any:
        calls.append(token)
        return answers[token]
    return call


def test_follow_yields_each_page_with_the_next_token_and_stops_at_none() -> None:
    calls: list[Any] = []
    step = script({None: ("p1", "a"), "a": ("p2", "b"), "b": ("p3", None)}, calls)
    assert list(follow(step, "list things", None)) == [("p1", "a"), ("p2", "b"), ("p3", None)]
    assert calls == [None, "a", "b"]


def test_follow_calls_for_the_next_page_only_when_asked() -> None:
    calls: list[Any] = []
    pages = follow(script({None: ("p1", "a"), "a": ("p2", None)}, calls), "list things", None)
    assert next(pages) == ("p1", "a")
    assert calls == [None]


def test_follow_starts_at_the_given_token() -> None:
    calls: list[Any] = []
    step = script({"b": ("p3", None)}, calls)
    assert list(follow(step, "list things", "b")) == [("p3", None)]
    assert calls == ["b"]


def test_the_same_next_token_twice_is_an_error_naming_the_call() -> None:
    calls: list[Any] = []
    pages = follow(script({None: ("p1", "a"), "a": ("p2", "a")}, calls), "list HubSpot deals "
                   "(live)", None)
    assert next(pages) == ("p1", "a")
    with pytest.raises(RemoteError) as info:
        next(pages)
    assert info.value.message == ("list HubSpot deals (live) named the page just read as the "
                                  "next one ('a'); stopping instead of reading it again forever")
    assert info.value.code == "PAGING_LOOP"
    assert info.value.retryable is False
    assert calls == [None, "a"]


def test_a_resumed_read_pointing_at_itself_fails_on_the_first_page() -> None:
    step = script({"a": ("p2", "a")}, [])
    with pytest.raises(RemoteError, match="named the page just read"):
        list(follow(step, "list things", "a"))


def test_a_repeated_typed_token_is_quoted_encoded_and_shortened() -> None:
    long_url = "/services/data/v59.0/query/" + "x" * 100
    token = SoqlResume(long_url)
    step = script({token: ("p", SoqlResume(long_url))}, [])
    with pytest.raises(RemoteError) as info:
        list(follow(step, "Salesforce query Lead", token))
    assert info.value.message == (
        "Salesforce query Lead named the page just read as the next one "
        f"('{long_url[:80]}...'); stopping instead of reading it again forever")


def test_tokens_that_come_back_later_are_not_a_loop() -> None:
    # only the token just sent counts: a cursor may legitimately repeat an older value
    step = script({None: ("p1", "a"), "a": ("p2", "b"), "b": ("p3", "a2"),
                   "a2": ("p4", None)}, [])
    assert [page for page, _ in follow(step, "list things", None)] == ["p1", "p2", "p3", "p4"]


# -- Salesforce ----------------------------------------------------------------------------


def answer(ids: list[str], next_url: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"totalSize": 9, "done": next_url is None,
                            "records": [{"Id": i} for i in ids]}
    if next_url:
        body["nextRecordsUrl"] = next_url
    return body


def test_soql_pages_follow_next_records_url_until_done() -> None:
    asked: list[str] = []
    more = {NEXT: answer(["2"], NEXT2), NEXT2: answer(["3"])}
    pages = list(soql_pages(lambda: answer(["1"], NEXT), script(more, asked),
                            "Salesforce query Lead"))
    assert pages == [SoqlPage([{"Id": "1"}], SoqlResume(NEXT)),
                     SoqlPage([{"Id": "2"}], SoqlResume(NEXT2)), SoqlPage([{"Id": "3"}], None)]
    assert [p.resume for p in pages] == [NEXT, NEXT2, None]
    assert asked == [NEXT, NEXT2]


def test_soql_pages_resume_at_the_stored_url_without_the_first_query() -> None:
    def first() -> dict[str, Any]:
        raise AssertionError("a resumed query must not run the first query again")

    pages = list(soql_pages(first, {NEXT2: answer(["3"])}.__getitem__, "Salesforce query Lead",
                            SoqlResume(NEXT2)))
    assert pages == [SoqlPage([{"Id": "3"}], None)]


def test_soql_pages_refuse_a_next_records_url_that_points_at_itself() -> None:
    pages = soql_pages(lambda: answer(["1"], NEXT), {NEXT: answer(["2"], NEXT)}.__getitem__,
                       "Salesforce query User")
    assert next(pages).resume == NEXT
    with pytest.raises(RemoteError, match=f"^Salesforce query User named the page just read as "
                                          f"the next one \\('{NEXT}'\\)"):
        next(pages)


@pytest.mark.parametrize(("result", "expected"), [
    ({"done": False, "nextRecordsUrl": NEXT}, SoqlResume(NEXT)),
    ({"done": True, "nextRecordsUrl": NEXT}, None),
    ({"done": False}, None),
    ({"nextRecordsUrl": NEXT}, None),
    ({"done": False, "nextRecordsUrl": ""}, None),
])
def test_next_records(result: dict[str, Any], expected: SoqlResume | None) -> None:
    assert next_records(result) == expected


@pytest.mark.parametrize(("token", "position"), [
    (NEXT, SoqlResume(NEXT)),
    ("bulk2:750R0000000zlh9IAA:MTAwMDA", BulkResume("750R0000000zlh9IAA", "MTAwMDA")),
    ("bulk2:750R0000000zlh9IAA:", BulkResume("750R0000000zlh9IAA", None)),
    ("key:2026-11-20T08:00:00.500000+00:00:00Q5e000001AbCdEAF", KEY),
    ("key:2026-11-20T08:00:00.500000+00:00:", AfterKey(STAMP)),
])
def test_salesforce_tokens_read_back_and_encode_to_the_stored_text(token: str,
                                                                    position: object) -> None:
    assert decode_salesforce_resume(token) == position
    assert position.encode() == token  # type: ignore[attr-defined]


def test_a_locator_with_colons_stays_whole() -> None:
    assert decode_salesforce_resume("bulk2:750X:a:b") == BulkResume("750X", "a:b")


def test_a_key_keeps_its_stamp_to_the_microsecond_in_utc() -> None:
    local = datetime.fromisoformat("2026-11-20T09:00:00.000250+01:00")
    token = AfterKey(local, "9").encode()
    assert token == "key:2026-11-20T08:00:00.000250+00:00:9"
    assert AfterKey.decode(token) == AfterKey(datetime(2026, 11, 20, 8, 0, 0, 250, tzinfo=UTC),
                                              "9")


@pytest.mark.parametrize("token", [None, "", "key:not-a-time:9", "live:101", NEXT])
def test_only_key_tokens_read_as_keys(token: str | None) -> None:
    assert AfterKey.decode(token) is None


def test_an_unreadable_key_means_start_on_both_crms() -> None:
    assert decode_salesforce_resume("key:not-a-time:9") is None
    assert decode_hubspot_resume("key:not-a-time:9") is None


@pytest.mark.parametrize("token", [None, ""])
def test_no_salesforce_token_means_start(token: str | None) -> None:
    assert decode_salesforce_resume(token) is None


# -- HubSpot -------------------------------------------------------------------------------


def listing(ids: list[str], after: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"results": [{"id": i} for i in ids]}
    if after is not None:
        body["paging"] = {"next": {"after": after, "link": "https://api.hubapi.com/x"}}
    return body


def test_after_pages_follow_paging_next_after_until_absent() -> None:
    asked: list[str | None] = []
    bodies = {None: listing(["1", "2"], "3"), "3": listing(["3"], "4"), "4": listing([])}
    pages = list(after_pages(script(bodies, asked), "list HubSpot owners"))
    assert pages == [AfterPage([{"id": "1"}, {"id": "2"}], "3"), AfterPage([{"id": "3"}], "4"),
                     AfterPage([], None)]
    assert asked == [None, "3", "4"]


def test_after_pages_start_after_the_given_cursor() -> None:
    pages = list(after_pages({"101": listing(["101"])}.__getitem__, "list HubSpot deals (live)",
                             "101"))
    assert pages == [AfterPage([{"id": "101"}], None)]


def test_after_pages_refuse_the_same_after_twice() -> None:
    bodies = {None: listing(["1"], "2"), "2": listing(["2"], "2")}
    pages = after_pages(bodies.__getitem__, "list HubSpot owners")
    assert next(pages) == AfterPage([{"id": "1"}], "2")
    with pytest.raises(RemoteError, match=r"^list HubSpot owners named the page just read as "
                                          r"the next one \('2'\)"):
        next(pages)


@pytest.mark.parametrize(("body", "after"), [
    (listing([], "9002"), "9002"),
    ({"results": [], "paging": {"next": {"after": 9002}}}, "9002"),
    ({"results": [], "paging": {"next": {"after": ""}}}, None),
    ({"results": [], "paging": {}}, None),
    ({"results": [], "paging": None}, None),
    ({"results": []}, None),
])
def test_next_after(body: dict[str, Any], after: str | None) -> None:
    assert next_after(body) == after


SPLIT = SearchState(mode="split", ts=1_732_000_000_100, last_id=812)


@pytest.mark.parametrize(("token", "position"), [
    ("live:101", ListResume(archived=False, after="101")),
    ("live:", ListResume(archived=False)),
    ("archived:4411", ListResume(archived=True, after="4411")),
    ("archived:", ListResume(archived=True)),
    ("end", Finished()),
    ("search:split:1732000000100:812", SPLIT),
    ("key:2026-11-20T08:00:00.500000+00:00:9001", AfterKey(STAMP, "9001")),
])
def test_hubspot_tokens_read_back_and_encode_to_the_stored_text(token: str,
                                                                 position: object) -> None:
    assert decode_hubspot_resume(token) == position
    assert position.encode() == token  # type: ignore[attr-defined]


@pytest.mark.parametrize("token", ["whatever", "done:1"])
def test_an_unknown_hubspot_token_reads_as_finished(token: str) -> None:
    assert decode_hubspot_resume(token) == Finished()


@pytest.mark.parametrize("token", [None, ""])
def test_no_hubspot_token_means_start(token: str | None) -> None:
    assert decode_hubspot_resume(token) is None
