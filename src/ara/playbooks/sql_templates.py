"""Templates in ``sql`` queries: each ``{{ expression }}`` becomes a bind parameter (``:ara_value_1``) whose value
the driver sends apart from the SQL, so a value such as ``x'; DROP TABLE servers; --`` is compared, never run.

Where a template stands: unquoted (``WHERE cores > {{ params.n }}``), or as a whole string literal (``WHERE name =
'{{ params.name }}'``, the quotes are dropped for the parameter). A template inside a larger string, a quoted
identifier or a dollar-quoted body is refused: a bind parameter cannot stand there (build the string with ``||``,
or choose among fixed names with ``{% if %}``). Only bind parameters are ever written into the query, never a
value, so a context misjudged here gives an error from the database, never an injection."""

from __future__ import annotations

from typing import Any

from ara.errors import ValidationFailed
from ara.playbooks.templating import MARKER, has_template, render_marked

BIND_PREFIX = "ara_value_"


def plain(value: Any) -> Any:
    """A value as a driver takes and JSON keeps it (anything else as its text)."""
    return value if value is None or isinstance(value, bool | int | float | str) else str(value)


def _closing(query: str, start: int, quote: str) -> int:
    """Index just past the literal opened at ``start`` (a doubled quote is an escaped one)."""
    i = start + 1
    while i < len(query):
        if query[i] == quote:
            if query.startswith(quote * 2, i):
                i += 2
                continue
            return i + 1
        i += 1
    return len(query)


def render_query(query: str, context: dict[str, Any], *, field: str) -> tuple[str, dict[str, Any]]:
    """(the query with bind parameters, their values)."""
    if not has_template(query):
        return query, {}
    marked, values = render_marked(query, context, field=field)
    binds: dict[str, Any] = {}

    def bind(number: int) -> str:
        name = f"{BIND_PREFIX}{number}"
        binds[name] = plain(values[number - 1])
        return f":{name} "  # the blank keeps a following word or ``::cast`` out of the parameter's name

    def refuse(where: str) -> ValidationFailed:
        return ValidationFailed({field: [f"template error: a template cannot stand {where} (use a bind: {{{{ x }}}})"]})

    out: list[str] = []
    i = 0
    while i < len(marked):
        found = MARKER.match(marked, i)
        if found:
            out.append(bind(int(found[1])))
            i = found.end()
            continue
        ch = marked[i]
        if ch in "'\"":
            end = _closing(marked, i, ch)
            literal = marked[i:end]
            whole = MARKER.fullmatch(literal[1:-1]) if ch == "'" and literal.endswith("'") else None
            if whole:
                out.append(bind(int(whole[1])))
            elif MARKER.search(literal):
                raise refuse("inside a larger string" if ch == "'" else "in a quoted identifier")
            else:
                out.append(literal)
            i = end
            continue
        if marked.startswith("--", i) or marked.startswith("/*", i):
            close = marked.find("\n" if ch == "-" else "*/", i + 2)
            end = len(marked) if close < 0 else close + (1 if ch == "-" else 2)
            out.append(MARKER.sub("", marked[i:end]))  # a comment never carries a value
            i = end
            continue
        if ch == "$" and (tag := _dollar_tag(marked, i)):
            close = marked.find(tag, i + len(tag))
            end = len(marked) if close < 0 else close + len(tag)
            if MARKER.search(marked, i, end):
                raise refuse("in a dollar-quoted body")
            out.append(marked[i:end])
            i = end
            continue
        out.append(ch)
        i += 1
    return "".join(out), binds


def _dollar_tag(query: str, start: int) -> str:
    """PostgreSQL's ``$$`` or ``$tag$`` opening at ``start``, or ``""`` (``$1`` is a parameter, not a tag)."""
    end = query.find("$", start + 1)
    if end < 0:
        return ""
    tag = query[start : end + 1]
    inner = tag[1:-1]
    return tag if inner == "" or (inner.replace("_", "a").isalnum() and not inner[0].isdigit()) else ""
