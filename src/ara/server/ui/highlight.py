"""Syntax highlighting for records pages (Pygments; its classes are styled by ``static/pygments.css`` in both
themes): files with each task's line marked and anchored (``#line-N``), JSON content and Ansible's diffs."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from typing import Any

from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import DiffLexer, JsonLexer, TextLexer, get_lexer_for_filename
from pygments.util import ClassNotFound

# Characters; a larger file is shown as plain text (still anchored, still marked). Lexing is CPU-bound, holds the
# GIL and takes seconds past a few hundred KB of crafted YAML, on every view of a page anyone may read: the chat's
# limit (``chat_files.HIGHLIGHT_MAX_BYTES``) keeps it well under a second.
MAX_HIGHLIGHT = 256 * 1024


def _lexer(path: str, text: str) -> Lexer:
    if len(text) > MAX_HIGHLIGHT:
        return TextLexer()
    try:
        return get_lexer_for_filename(path, text)
    except ClassNotFound:
        return TextLexer()


def file_html(path: str, text: str, marked: Iterable[int]) -> Markup:
    """The file with line numbers linking to ``#line-N`` and the ``marked`` lines highlighted."""
    formatter = HtmlFormatter(
        linenos="inline", lineanchors="line", anchorlinenos=True, hl_lines=sorted(set(marked)), wrapcode=True
    )
    return Markup(highlight(text, _lexer(path, text), formatter))  # noqa: S704 - Pygments escapes the text


def json_html(value: Any) -> Markup:
    text = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)
    return Markup(highlight(text, JsonLexer(), HtmlFormatter(wrapcode=True)))  # noqa: S704


def diff_text(diff: Any) -> str:
    """Ansible's ``diff`` (a dict or a list of them: ``before``/``after`` with headers, or ``prepared``) as one
    unified diff; empty when there is nothing to show."""
    parts = diff if isinstance(diff, list) else [diff]
    out: list[str] = []
    for part in parts:
        if not isinstance(part, dict):
            continue
        if isinstance(part.get("prepared"), str):
            out.append(part["prepared"].rstrip("\n") + "\n")
            continue
        before, after = part.get("before", ""), part.get("after", "")
        if not isinstance(before, str) or not isinstance(after, str):
            before = json.dumps(before, indent=2, sort_keys=True, default=str)
            after = json.dumps(after, indent=2, sort_keys=True, default=str)
        lines = difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            fromfile=str(part.get("before_header") or "before"),
            tofile=str(part.get("after_header") or "after"),
        )
        out.append("".join(line if line.endswith("\n") else line + "\n" for line in lines))
    return "".join(out)


def diff_html(diff: Any) -> Markup | None:
    text = diff_text(diff)
    return Markup(highlight(text, DiffLexer(), HtmlFormatter(wrapcode=True))) if text.strip() else None  # noqa: S704
