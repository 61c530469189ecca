"""Salesforce erasure of one person: find their Leads and Contacts by e-mail, delete them.

Found with ``query`` (not ``queryAll``: a record already in the recycle bin is not found
again), by ``Email IN (...)`` (SOQL compares text without regard to case). Deleted one by one
with ``DELETE /sobjects/{type}/{id}`` (204; the record goes to the recycle bin). A record that is
gone meanwhile (404 ``NOT_FOUND`` or ``ENTITY_IS_DELETED``) counts as erased.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from funnelsync.connectors.base import ErasableRecord
from funnelsync.connectors.paging import batched
from funnelsync.connectors.salesforce.query import soql_in
from funnelsync.errors import RemoteError

if TYPE_CHECKING:
    from simple_salesforce import Salesforce

PERSON_OBJECTS = ("Lead", "Contact")
EMAILS_PER_QUERY = 100
GONE = frozenset({"NOT_FOUND", "ENTITY_IS_DELETED"})


class SalesforceErase:
    """Erase half of SalesforceConnector (mixed in; uses its ``_call`` and ``_sf``)."""

    _call: Callable[..., Any]
    _sf: Callable[[], Salesforce]

    def find_person_records(self, emails: Sequence[str]) -> list[ErasableRecord]:
        """The Leads and Contacts whose Email is one of ``emails``."""
        found: list[ErasableRecord] = []
        for sobject in PERSON_OBJECTS:
            for batch in batched(sorted(set(emails)), EMAILS_PER_QUERY):
                soql = f"SELECT Id, Email FROM {sobject} WHERE Email IN {soql_in(batch)}"
                answer = self._call(lambda q=soql: self._sf().query_all(q),
                                    f"find {sobject} records to erase")
                found += [ErasableRecord(sobject, str(row["Id"]), str(row.get("Email") or ""))
                          for row in answer.get("records") or []]
        return found

    def erase_person_record(self, record: ErasableRecord) -> bool:
        """Delete one Lead or Contact; False when it was gone already."""
        path = f"sobjects/{record.object}/{record.record_id}"
        try:
            self._call(lambda: self._sf().restful(path, method="DELETE"),
                       f"delete {record.object} {record.record_id}")
        except RemoteError as err:
            if err.status == 404 and err.code in GONE:
                return False
            raise
        return True


__all__ = ["PERSON_OBJECTS", "SalesforceErase"]
