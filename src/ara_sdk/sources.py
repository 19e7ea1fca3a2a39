"""The source text of a decorated function, shipped in the manifest so the server runs it in the sandbox
(the author's machine is not there at run time): decorators stripped, dedented, ``def`` only."""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable
from typing import Any

from ara_sdk.validation import DeclarationError


def strip_decorators(source: str) -> str:
    """From the first top-level ``def`` on (decorator lines dropped); unparsable text only dedented."""
    text = textwrap.dedent(source)
    try:
        module = ast.parse(text)
    except SyntaxError:
        return text.strip()
    lines = text.splitlines()
    for node in module.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            return "\n".join(lines[node.lineno - 1 :]).strip()
    return text.strip()


def function_source(fn: Callable[..., Any], *, context: str) -> str:
    """``context`` (``@app.agent``, ``@app.tool``) names the decorator in the error."""
    try:
        raw = inspect.getsource(fn)
    except (OSError, TypeError):
        raise DeclarationError(f"{context} requires source-visible functions (no lambdas/dynamic defs)") from None
    source = strip_decorators(raw)
    if not source.startswith("def "):
        raise DeclarationError(f"{context} only supports standard def functions")
    return source
