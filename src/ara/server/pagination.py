"""``count/next/previous/results`` pages with absolute links, as DRF's LimitOffsetPagination builds them."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import URL


def page(url: URL, *, count: int, limit: int, offset: int, results: list[Any]) -> dict[str, Any]:
    next_url = str(url.include_query_params(limit=limit, offset=offset + limit)) if offset + limit < count else None
    if offset <= 0:
        previous_url = None
    elif offset - limit <= 0:
        previous_url = str(url.include_query_params(limit=limit).remove_query_params("offset"))
    else:
        previous_url = str(url.include_query_params(limit=limit, offset=offset - limit))
    return {"count": count, "next": next_url, "previous": previous_url, "results": results}
