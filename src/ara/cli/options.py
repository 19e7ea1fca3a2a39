"""Options every records command shares, declared once.

ARA's CLI repeats ten client options and a ten-argument ``get_client`` in every command. Here a command
declares only its own parameters and receives an ``Api`` (one client plus the output choices); the
``api_command`` decorator adds the client options (``--client --server --timeout --username --password
--token --ssl-cert --ssl-key --ssl-ca --insecure``), the output options (``-f``, ``-c``), ``--order``,
``--limit`` and the command's filters to its signature. Client options may also be given before the
command (``ara --client http playbook list``); the command's own value wins, then the root's, then the
``ARA_API_*`` environment variable, then ARA's default.
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from ara.cli.errors import errors_handled, fail_usage
from ara.cli.output import FORMATS, Output
from ara.clients.base import AraClient
from ara.clients.settings import DEFAULT_SERVER, ClientSettings

CLIENTS = ("offline", "http")
CLIENT_PANEL = "API client"
OUTPUT_PANEL = "Output"


@dataclass(frozen=True)
class ClientOption:
    """One client option: its flag, environment variable, default and type."""

    name: str
    flag: str
    env: str
    default: Any
    help: str
    kind: type = str

    def parameter(self) -> inspect.Parameter:
        help_text = f"{self.help} (defaults to {self.env} or {self.default!r})"
        if self.kind is bool:
            annotation: Any = Annotated[
                bool, typer.Option(self.flag, help=help_text, show_default=False, rich_help_panel=CLIENT_PANEL)
            ]
            default: Any = False
        else:
            annotation = Annotated[
                self.kind | None,
                typer.Option(self.flag, help=help_text, show_default=False, rich_help_panel=CLIENT_PANEL),
            ]
            default = None
        return inspect.Parameter(self.name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)


CLIENT_OPTIONS = (
    ClientOption("client", "--client", "ARA_API_CLIENT", "offline", "API client to use: 'offline' or 'http'"),
    ClientOption("server", "--server", "ARA_API_SERVER", DEFAULT_SERVER, "API server for the http client"),
    ClientOption("timeout", "--timeout", "ARA_API_TIMEOUT", 30.0, "Seconds to wait for the API server", float),
    ClientOption("username", "--username", "ARA_API_USERNAME", None, "API username (HTTP basic auth)"),
    ClientOption("password", "--password", "ARA_API_PASSWORD", None, "API password (HTTP basic auth)"),
    ClientOption("token", "--token", "ARA_API_TOKEN", None, "API token (sent as a bearer token)"),
    ClientOption("ssl_cert", "--ssl-cert", "ARA_API_CERT", None, "Client certificate, if the server wants one"),
    ClientOption("ssl_key", "--ssl-key", "ARA_API_KEY", None, "Private key of the client certificate"),
    ClientOption("ssl_ca", "--ssl-ca", "ARA_API_CA", None, "Certificate authority to trust for the server"),
    ClientOption("insecure", "--insecure", "ARA_API_INSECURE", False, "Do not verify the server's certificate", bool),
)
_CLIENT_NAMES = tuple(o.name for o in CLIENT_OPTIONS)


# The CLI's option names for the model's fields, where they differ (ARA's CLI spells them --ssl-*).
_FIELDS = {"ssl_cert": "cert", "ssl_key": "key", "ssl_ca": "ca"}


def resolve_client_settings(given: dict[str, Any], root: dict[str, Any]) -> ClientSettings:
    """The command's own option wins, then the root's (``ara --client http ...``), then ``ARA_API_*``, then
    the default: the same model and parsing as the Ansible plugins."""
    values: dict[str, Any] = {}
    for option in CLIENT_OPTIONS:
        value = given.get(option.name)
        if value is None or value is False:
            value = root.get(option.name)
        if value is not None and value is not False:
            values[_FIELDS.get(option.name, option.name)] = value
    try:
        return ClientSettings(**values)
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]) if error["loc"] else "?"
        option = next((o for o in CLIENT_OPTIONS if _FIELDS.get(o.name, o.name) == name), None)
        if name == "client":
            fail_usage(f"Unsupported API client {error.get('input')!r}: use 'offline' or 'http'")
        where = f"{option.flag} / {option.env}" if option else name
        fail_usage(f"{where}={error.get('input')!r}: {error['msg']}")


@dataclass
class Api:
    """What a records command receives: the merged client settings, a lazily built client and the output."""

    settings: ClientSettings
    output: Output
    query: dict[str, Any] = field(default_factory=dict)
    _client: AraClient | None = None

    @property
    def client(self) -> AraClient:
        if self._client is None:
            # ARA's CLI skips migrations; ours applies them (one revision read when at head) so that a first
            # command on a new database answers "nothing yet" instead of "no such table".
            self._client = self.settings.connect(run_sql_migrations=True)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def report_url(self, playbook_id: Any) -> str:
        """Where the web UI shows a playbook (ARA's ``report`` field)."""
        return f"{self.settings.server.rstrip('/')}/playbooks/{playbook_id}.html"


@dataclass(frozen=True)
class Filter:
    """A command-line filter that becomes an API query parameter.

    ``flag`` is the option as ARA spells it; ``param`` the query parameter (default: the option's name);
    a ``value`` makes it a flag sending that value when given; ``choices`` are checked before any request;
    ``many`` allows the option to repeat (the API ORs repeated ``status`` values).
    """

    name: str
    flag: str
    help: str
    param: str | None = None
    value: Any = None
    choices: tuple[str, ...] = ()
    many: bool = False
    conflicts: str | None = None

    def parameter(self) -> inspect.Parameter:
        if self.value is not None:
            annotation: Any = Annotated[bool, typer.Option(self.flag, help=self.help, show_default=False)]
            return inspect.Parameter(self.name, inspect.Parameter.KEYWORD_ONLY, default=False, annotation=annotation)
        help_text = self.help + (f" ({', '.join(self.choices)})" if self.choices else "")
        callback = _choices_callback(self.flag, self.choices) if self.choices else None
        kind: Any = list[str] if self.many else str
        annotation = Annotated[kind | None, typer.Option(self.flag, help=help_text, callback=callback)]
        return inspect.Parameter(self.name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=annotation)


def _choices_callback(flag: str, choices: tuple[str, ...]) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        for item in value if isinstance(value, list) else [value]:
            if item is not None and item not in choices:
                raise typer.BadParameter(f"{item!r} is not one of {', '.join(choices)}", param_hint=f"'{flag}'")
        return value

    return check


def status_filter(choices: Sequence[str], what: str) -> Filter:
    return Filter(
        "status", "--status", f"Only {what} with this status; repeat for several", choices=tuple(choices), many=True
    )


def presence_filters(noun: str, param: str, what: str) -> list[Filter]:
    """ARA's exclusive ``--with-<noun>``/``--without-<noun>`` pair, as ``<param>__gt=0`` or ``<param>__lt=1``."""
    return [
        Filter(f"with_{noun}", f"--with-{noun}", f"Only {what} with {noun}", f"{param}__gt", 0, conflicts=noun),
        Filter(
            f"without_{noun}", f"--without-{noun}", f"Only {what} without {noun}", f"{param}__lt", 1, conflicts=noun
        ),
    ]


def _limit_default(default: int) -> int:
    raw = os.environ.get("ARA_CLI_LIMIT", "")
    try:
        return int(raw) if raw else default
    except ValueError:
        fail_usage(f"ARA_CLI_LIMIT={raw!r} is not a number")


def _order_and_limit(order: str | None, limit: int | None, what: str) -> list[inspect.Parameter]:
    out = []
    if order is not None:
        annotation: Any = Annotated[
            str, typer.Option("--order", help=f"Order {what} by a field; a leading '-' reverses the order")
        ]
        out.append(inspect.Parameter("order", inspect.Parameter.KEYWORD_ONLY, default=order, annotation=annotation))
    if limit is not None:
        annotation = Annotated[
            int | None,
            typer.Option("--limit", min=1, help=f"At most this many {what} (defaults to ARA_CLI_LIMIT or {limit})"),
        ]
        out.append(inspect.Parameter("limit", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=annotation))
    return out


def _output_parameters(format_flags: tuple[str, ...]) -> list[inspect.Parameter]:
    fmt: Any = Annotated[
        str,
        typer.Option(
            *format_flags,
            help=f"Output format: {', '.join(FORMATS)}",
            callback=_choices_callback(format_flags[0], FORMATS),
            rich_help_panel=OUTPUT_PANEL,
        ),
    ]
    columns: Any = Annotated[
        list[str] | None,
        typer.Option("-c", "--column", help="Show only this column; repeat for several", rich_help_panel=OUTPUT_PANEL),
    ]
    return [
        inspect.Parameter("fmt", inspect.Parameter.KEYWORD_ONLY, default="table", annotation=fmt),
        inspect.Parameter("columns", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=columns),
    ]


def _with_signature(func: Callable[..., Any], parameters: list[inspect.Parameter]) -> None:
    func.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    func.__annotations__ = {p.name: p.annotation for p in parameters}


def root_callback(func: Callable[..., None]) -> Callable[..., None]:
    """Gives the ``ara`` group callback the client options (``ara --client http playbook list``)."""

    @functools.wraps(func)
    def wrapper(ctx: typer.Context, **given: Any) -> None:
        # Kept for the command to merge with its own options.
        ctx.obj = {name: value for name, value in given.items() if value is not None and value is not False}
        func()

    ctx_param = inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context)
    _with_signature(wrapper, [ctx_param, *(o.parameter() for o in CLIENT_OPTIONS)])
    del wrapper.__wrapped__  # type: ignore[attr-defined]  # typer must read the new signature, not func's
    return wrapper


def api_command(
    *,
    filters: Sequence[Filter] = (),
    order: str | None = None,
    limit: int | None = None,
    what: str = "objects",
    format_flags: tuple[str, ...] = ("-f", "--format"),
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Decorate a command taking ``api: Api``: adds the shared options and turns errors into exit code 2.

    ``format_flags`` spell the output format option (``apply`` keeps ``-f`` for its files, as kubectl does).

    The filters given become ``api.query`` (only those set), with ``order`` and ``limit`` when declared.
    """

    def decorate(func: Callable[..., None]) -> Callable[..., None]:
        own = [p for p in inspect.signature(func, eval_str=True).parameters.values() if p.name != "api"]
        parameters = [
            *own,
            *(f.parameter() for f in filters),
            *_order_and_limit(order, limit, what),
            *_output_parameters(format_flags),
            *(o.parameter() for o in CLIENT_OPTIONS),
        ]

        @functools.wraps(func)
        def wrapper(ara_context: typer.Context, **kwargs: Any) -> None:
            given = {name: kwargs.pop(name) for name in _CLIENT_NAMES}
            output = Output(kwargs.pop("fmt"), kwargs.pop("columns") or [])
            with errors_handled():
                query = _query(filters, kwargs)
                if order is not None:
                    query["order"] = kwargs.pop("order")
                if limit is not None:
                    chosen = kwargs.pop("limit")
                    query["limit"] = chosen if chosen is not None else _limit_default(limit)
                root = ara_context.find_root().obj or {}
                api = Api(resolve_client_settings(given, root), output, query)
                try:
                    func(api=api, **kwargs)
                finally:
                    api.close()

        context = inspect.Parameter("ara_context", inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context)
        _with_signature(wrapper, [*parameters, context])
        del wrapper.__wrapped__  # type: ignore[attr-defined]
        return wrapper

    return decorate


def _query(filters: Sequence[Filter], kwargs: dict[str, Any]) -> dict[str, Any]:
    query: dict[str, Any] = {}
    chosen: dict[str, str] = {}
    for flt in filters:
        value = kwargs.pop(flt.name)
        if flt.value is not None:
            if not value:
                continue
            if flt.conflicts and flt.conflicts in chosen:
                fail_usage(f"{flt.flag} and {chosen[flt.conflicts]} cannot be used together")
            if flt.conflicts:
                chosen[flt.conflicts] = flt.flag
            value = flt.value
        if value is None or value == []:
            continue
        query[flt.param or flt.name] = value
    return query
