"""Pull warnings: one line per problem, counting the records that have it."""

from __future__ import annotations

from funnelsync.sync.pull import SourcePull


def test_the_same_problem_on_many_records_is_reported_once_with_a_count() -> None:
    pulled = SourcePull()
    for rid in ("1", "2", "3"):
        pulled.add_warning(f"hubspot contact {rid}: lifecyclestage 'other' is not mapped")
    pulled.add_warning("hubspot deal 9: amount 'TBD' is not a number; using null")
    pulled.add_warning("a warning without a record label")
    assert pulled.warnings == [
        "hubspot contact 1 and 2 more: lifecyclestage 'other' is not mapped",
        "hubspot deal 9: amount 'TBD' is not a number; using null",
        "a warning without a record label"]
