"""A page of a records resource for the UI: the API's own filters and ``Resource.list`` (same query, same 400s),
with page numbers instead of ``limit``/``offset`` and links that keep the other query parameters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from sqlalchemy.orm import Session

from ara.errors import ValidationFailed
from ara.records.filters import Params
from ara.records.resources import Resource

MAX_PAGE = 10**9


@dataclass(frozen=True)
class Listing:
    items: list[dict[str, Any]]
    count: int
    page: int
    size: int
    url: str  # this page's URL with ``{page}`` where the page number goes (the ``pager`` macro's input)


def query(request: Request) -> dict[str, list[str]]:
    """The query string as the records API's filters read it (every value of each name)."""
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key, []).append(value)
    return params


def page_number(params: Params, name: str = "page") -> int:
    """``?page=N`` (1 when absent); anything else is a 400 naming the parameter."""
    values = params.get(name)
    raw = values[-1].strip() if values else ""
    if not raw:
        return 1
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        raise ValidationFailed({name: [f"Enter a whole number from 1 to {MAX_PAGE}."]})
    return int(raw)


def url_with(request: Request, **changes: Any) -> str:
    """This page's path and query with ``changes`` applied (``None`` removes a parameter)."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in changes]
    added = [(k, str(v)) for k, v in changes.items() if v is not None]
    text = urlencode(kept + added, safe="{}")
    return request.url.path + (f"?{text}" if text else "")


def listing(
    session: Session,
    resource: Resource,
    request: Request,
    params: Params,
    *,
    size: int,
    page_param: str = "page",
    default_order: list[Any] | None = None,
) -> Listing:
    """One page of ``resource`` filtered by ``params`` (the API's filter names), counted with SQL."""
    page = page_number(query(request), page_param)
    bounded = {**params, "limit": [str(size)], "offset": [str((page - 1) * size)]}
    count, items, _, _ = resource.list(session, bounded, size, default_order=default_order)
    return Listing(items, count, page, size, url_with(request, **{page_param: "{page}"}))
