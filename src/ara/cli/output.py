"""Rendering for every command: a Rich table for people, JSON/YAML of the API's data for scripts, and cliff's
``value``/``csv`` formats for shell pipelines. Data goes to stdout, messages to stderr."""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import typer

from ara.cli.errors import fail_usage

FORMATS = ("table", "json", "yaml", "value", "csv")


def message(text: str) -> None:
    typer.echo(text, err=True)


def cell(value: Any, *, pretty: bool = False) -> str:
    """One value as text: labels by name, nested data as JSON, nothing for None."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, list) and value and all(isinstance(v, dict) and "name" in v for v in value):
        return ", ".join(str(v["name"]) for v in value)
    if isinstance(value, dict | list):
        return json.dumps(value, indent=2 if pretty else None, ensure_ascii=False, sort_keys=pretty)
    return str(value)


def _console() -> Any:
    from rich.console import Console

    # Piped output has no terminal width: do not wrap rows (tests and `grep` want one line per row).
    width = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 100_000
    return Console(file=sys.stdout, width=width, highlight=False, soft_wrap=False)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(*headers)
    for row in rows:
        table.add_row(*(Text(value) for value in row))  # Text: no Rich markup in recorded names
    _console().print(table)


def _dump(data: Any, fmt: str) -> None:
    if fmt == "json":
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        import yaml

        typer.echo(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False).rstrip())


@dataclass
class Output:
    """``fmt``: one of FORMATS; ``columns``: the ``-c`` choices (empty: the command's default columns)."""

    fmt: str = "table"
    columns: list[str] = field(default_factory=list)

    def _chosen(self, available: Sequence[str], default: Sequence[str]) -> list[str]:
        if not self.columns:
            return list(default)
        unknown = [c for c in self.columns if c not in available]
        if unknown:
            fail_usage(f"unknown column {', '.join(unknown)} (choose from {', '.join(available)})")
        return list(self.columns)

    def rows(
        self,
        items: Sequence[Mapping[str, Any]],
        columns: Sequence[str],
        *,
        data: Sequence[Any] | Mapping[str, Any] | None = None,
    ) -> None:
        """A list: ``items`` are display rows, ``data`` what the API answered (printed as is by json/yaml; an
        object when the rows are one part of a larger answer)."""
        available = list(dict.fromkeys([*columns, *(key for item in items for key in item)]))
        chosen = self._chosen(available, columns)
        if self.fmt in ("json", "yaml"):
            if self.columns or data is None:
                _dump([{c: item.get(c) for c in chosen} for item in items], self.fmt)
            else:
                _dump(dict(data) if isinstance(data, Mapping) else list(data), self.fmt)
            return
        table = [[cell(item.get(c)) for c in chosen] for item in items]
        if self.fmt == "table":
            _table(chosen, table)
        elif self.fmt == "value":
            for row in table:
                typer.echo(" ".join(row))
        else:
            writer = csv.writer(sys.stdout, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
            writer.writerow(chosen)
            writer.writerows(table)

    def one(self, item: Mapping[str, Any], columns: Sequence[str], *, data: Any = None) -> None:
        """One object: a field/value table, or the API's data for json/yaml."""
        chosen = self._chosen(list(dict.fromkeys([*columns, *item])), columns)
        if self.fmt in ("json", "yaml"):
            _dump({c: item.get(c) for c in chosen} if self.columns or data is None else data, self.fmt)
            return
        values = [cell(item.get(c), pretty=self.fmt == "table") for c in chosen]
        if self.fmt == "table":
            _table(["Field", "Value"], list(zip(chosen, values, strict=True)))
        elif self.fmt == "value":
            for value in values:
                typer.echo(value)
        else:
            writer = csv.writer(sys.stdout, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
            writer.writerow(chosen)
            writer.writerow(values)
