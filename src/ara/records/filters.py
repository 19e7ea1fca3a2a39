"""Query-string filters and ordering with django-filter's semantics and 400 messages, as ARA's API has them."""

from __future__ import annotations

import math
import uuid as uuid_lib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Integer, Select, func
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from ara.errors import ValidationFailed
from ara.records.fields import INT32_MAX, INT64_MAX, bool_param, parse_datetime, range_error

Params = Mapping[str, Sequence[str]]


@dataclass(frozen=True)
class Filter:
    """``kind``: icontains, iexact, exact, number, uuid, choice, bool, lte, gte, gt, lt, json_len_gt, json_len_lt."""

    kind: str
    column: Callable[[], Any]
    choices: tuple[str, ...] = ()
    # A filter on a related object's column: (outer column, SELECT of matching keys); compared with
    # ``outer IN (SELECT ... WHERE condition)`` so lists need no join and never repeat a row.
    via: Callable[[], tuple[Any, Select[Any]]] | None = None


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _condition(name: str, flt: Filter, values: Sequence[str]) -> ColumnElement[bool] | None:
    value = values[-1]
    column = flt.column()
    kind = flt.kind
    if kind == "choice":
        for item in values:
            if item not in flt.choices:
                raise ValidationFailed({name: [f"Select a valid choice. {item} is not one of the available choices."]})
        return column.in_(list(dict.fromkeys(values)))
    if value == "":
        return None  # django-filter ignores empty values
    if "\x00" in value:
        raise ValidationFailed({name: ["Null characters are not allowed."]})
    if kind == "icontains":
        cond = func.lower(column).like("%" + _escape_like(value.lower()) + "%", escape="\\")
    elif kind == "iexact":
        cond = func.lower(column) == value.lower()
    elif kind == "exact":
        cond = column == value
    elif kind in ("number", "gt", "lt", "json_len_gt", "json_len_lt"):
        number = _number(name, value, filter_bound(flt))
        if kind == "number":
            cond = column == number
        elif kind == "gt":
            cond = column > number
        elif kind == "lt":
            cond = column < number
        else:
            length = func.coalesce(_json_length(column), 0)
            cond = length > number if kind == "json_len_gt" else length < number
    elif kind == "uuid":
        try:
            parsed = uuid_lib.UUID(value)
        except ValueError:
            raise ValidationFailed({name: ["Enter a valid UUID."]}) from None
        cond = column.in_([str(parsed), value])
    elif kind == "bool":
        parsed_bool = bool_param(value)
        if parsed_bool is None:
            return None
        cond = column.is_(parsed_bool)
    elif kind in ("lte", "gte"):
        moment = parse_datetime(value)
        if moment is None:
            raise ValidationFailed({name: ["Enter a valid date/time."]})
        cond = column <= moment if kind == "lte" else column >= moment
    else:
        raise ValueError(f"unknown filter kind {kind!r}")
    if flt.via is not None:
        outer, keys = flt.via()
        return outer.in_(keys.where(cond))
    return cond


def filter_bound(flt: Filter) -> int:
    """The largest number a numeric filter compares with: what its column (or array length) can hold; a value
    past it is a 400, not a database error."""
    column = flt.column()
    if flt.kind.startswith("json_len"):
        return INT32_MAX
    column_type = getattr(column, "type", None)
    if isinstance(column_type, Integer) and not isinstance(column_type, BigInteger):
        return INT32_MAX
    return INT64_MAX


def _number(name: str, value: str, bound: int) -> int | float:
    try:
        number: int | float = float(value) if "." in value else int(value)
    except ValueError:
        raise ValidationFailed({name: ["Enter a number."]}) from None
    if isinstance(number, float) and not math.isfinite(number):
        raise ValidationFailed({name: ["Enter a number."]})
    if problem := range_error(int(number), bound):
        raise ValidationFailed({name: [problem]})
    return number


class _json_length(FunctionElement[int]):
    """Length of a JSON array column: ``json_array_length`` on SQLite, ``jsonb_array_length`` on PostgreSQL."""

    type = Integer()
    inherit_cache = True


@compiles(_json_length)
def _json_length_default(element: _json_length, compiler: Any, **kw: Any) -> str:
    return f"json_array_length({compiler.process(element.clauses, **kw)})"


@compiles(_json_length, "postgresql")
def _json_length_postgresql(element: _json_length, compiler: Any, **kw: Any) -> str:
    return f"jsonb_array_length({compiler.process(element.clauses, **kw)})"


def conditions(filters: Mapping[str, Filter], params: Params) -> list[ColumnElement[bool]]:
    """Conditions for every known, non-empty filter in ``params``; unknown parameters are ignored."""
    result = []
    for name, flt in filters.items():
        values = params.get(name)
        if not values:
            continue
        cond = _condition(name, flt, values)
        if cond is not None:
            result.append(cond)
    return result


def ordering(orders: Mapping[str, Callable[[], Any]], params: Params, default: Sequence[Any]) -> list[Any]:
    """``order=-started,id``: known fields only, otherwise a 400 naming ``order``."""
    raw = params.get("order")
    if not raw or not raw[-1]:
        return list(default)
    clauses = []
    for item in raw[-1].split(","):
        item = item.strip()
        if not item:
            continue
        descending = item.startswith("-")
        key = item.lstrip("-")
        if key not in orders:
            raise ValidationFailed({"order": [f"Select a valid choice. {item} is not one of the available choices."]})
        column = orders[key]()
        clauses.append(column.desc() if descending else column.asc())
    return clauses or list(default)


def page_bounds(params: Params, page_size: int) -> tuple[int, int]:
    """DRF LimitOffsetPagination: a missing, non-numeric or negative value (or a zero limit) falls back to the
    default, as ARA's clients expect; a number past int64 is a 400 naming it (the database cannot take it)."""
    limit = _count(params, "limit", page_size, minimum=1)
    offset = _count(params, "offset", 0, minimum=0)
    return limit, offset


def _count(params: Params, name: str, default: int, *, minimum: int) -> int:
    values = params.get(name)
    if not values:
        return default
    try:
        number = int(values[-1])
    except ValueError:
        return default
    if number < minimum:
        return default
    if problem := range_error(number, INT64_MAX):
        raise ValidationFailed({name: [problem]})
    return number
