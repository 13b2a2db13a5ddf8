"""Cursor pages that iterate every item of the list.

A list answers `{"object": "list", "data": [...], "has_more": bool}`. Iterating a `Page` yields
its items and then fetches the next page (`starting_after=<last item's cursor>`, or
`ending_before=<first item's>` when the list was asked for with `ending_before`) for as long as
`has_more` says there is more. `page.data` is only this page.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Generic, Iterator, List, Optional, TypeVar

if TYPE_CHECKING:
    from ._base_client import BaseClient

T = TypeVar("T")

__all__ = ["Page"]


class Page(Generic[T]):
    data: List[T]
    has_more: bool
    request_id: Optional[str]

    def __init__(self, client: "BaseClient", path: str, query: Dict[str, Any], cursor: str = "id") -> None:
        self._client = client
        self._path = path
        self._query = {k: v for k, v in query.items() if v is not None}
        self._cursor = cursor
        body = client._request("GET", path, query=self._query)
        self.data = list(body.get("data", []))
        self.has_more = bool(body.get("has_more"))
        self.request_id = getattr(body, "_request_id", None)

    def __iter__(self) -> Iterator[T]:
        page: Optional[Page[T]] = self
        while page is not None:
            for item in page.data:
                yield item
            page = page.next_page()

    def iter_pages(self) -> Iterator["Page[T]"]:
        page: Optional[Page[T]] = self
        while page is not None:
            yield page
            page = page.next_page()

    def has_next_page(self) -> bool:
        return self.has_more and bool(self.data)

    def next_page(self) -> Optional["Page[T]"]:
        """The following page, or None at the end of the list."""
        if not self.has_next_page():
            return None
        query = dict(self._query)
        if "ending_before" in query and "starting_after" not in query:
            query["ending_before"] = _cursor_of(self.data[0], self._cursor)
        else:
            query.pop("ending_before", None)
            query["starting_after"] = _cursor_of(self.data[-1], self._cursor)
        return Page(self._client, self._path, query, self._cursor)

    def __repr__(self) -> str:
        return "Page(%d items, has_more=%s)" % (len(self.data), self.has_more)


def _cursor_of(item: Any, key: str) -> Any:
    return item[key] if isinstance(item, dict) else getattr(item, key)
