"""The layering DESIGN.md promises: clients, plugins and the SDK never drag in the server or the ORM; domains
never import the engine, the server or the CLI; the embedded default never loads procrastinate; and no module
outside ``ara.lifecycle`` spells a run-status group again."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import ara
from ara.lifecycle.states import ActionStatus, RunStatus

SRC = Path(ara.__file__).resolve().parent
DOMAINS = ("playbooks", "records", "users", "lifecycle", "apps")
# What a domain module must never load, directly or through anything it imports.
NOT_IN_DOMAINS = ("ara.engine", "ara.server", "ara.cli", "ara.clients", "fastapi", "starlette", "procrastinate")


def _loaded_after(import_line: str) -> set[str]:
    code = f"import sys; {import_line}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return set(out.split())


@pytest.mark.parametrize("module", ["ara.clients.http", "ara.clients.utils", "ara_sdk", "ara.cli.main"])
def test_light_modules_do_not_import_the_server(module: str) -> None:
    loaded = _loaded_after(f"import {module}")
    assert not {"sqlalchemy", "fastapi", "ara.server", "ara.db"} & loaded


def test_sdk_never_imports_ara() -> None:
    assert not {m for m in _loaded_after("import ara_sdk") if m == "ara" or m.startswith("ara.")}


def test_domains_do_not_import_the_web_layer() -> None:
    loaded = _loaded_after("import ara.records.resources, ara.users.service")
    assert not {"fastapi", "starlette", "httpx", "ara.server", "ara.clients", "ara.cli"} & loaded


def _domain_modules() -> list[str]:
    modules = []
    for domain in DOMAINS:
        for path in sorted((SRC / domain).rglob("*.py")):
            parts = path.relative_to(SRC.parent).with_suffix("").parts
            modules.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return modules


# One interpreter that has imported nothing of Ara (only a few third-party libraries, to save time) forks a
# child per module: each child starts with no ``ara`` module loaded, exactly like a fresh interpreter would.
_FORKING_IMPORTER = textwrap.dedent(
    """
    import json, os, sys
    import pydantic, sqlalchemy.orm, yaml  # third-party only: nothing of ara is loaded before the fork
    assert not [m for m in sys.modules if m == "ara" or m.startswith("ara.")]
    forbidden = tuple(sys.argv[1].split(","))
    for module in sys.argv[2:]:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(read)
                __import__(module)
                prefixes = tuple(f + "." for f in forbidden)
                bad = sorted(m for m in sys.modules if m in forbidden or m.startswith(prefixes))
                os.write(write, json.dumps(bad).encode())
            finally:
                os._exit(0)  # never run the rest of the loop in the child, even if the import failed
        os.close(write)
        with os.fdopen(read) as answer:
            found = answer.read()
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"module": module, "loaded": json.loads(found) if found else None, "status": status}))
    """
)


def test_no_domain_module_imports_the_engine_the_server_or_the_cli() -> None:
    modules = _domain_modules()
    assert len(modules) > 20 and "ara.playbooks.runs" in modules and "ara.lifecycle.states" in modules
    out = subprocess.run(
        [sys.executable, "-c", _FORKING_IMPORTER, ",".join(NOT_IN_DOMAINS), *modules],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    answers = [json.loads(line) for line in out.splitlines()]
    assert [a["module"] for a in answers] == modules
    failed_imports = [a["module"] for a in answers if a["status"] != 0 or a["loaded"] is None]
    assert not failed_imports, f"these domain modules do not import on their own: {failed_imports}"
    offenders = {a["module"]: a["loaded"] for a in answers if a["loaded"]}
    assert not offenders, f"domain modules loading what they must not: {offenders}"


def test_the_embedded_server_never_loads_procrastinate(tmp_path: Path) -> None:
    """On SQLite the whole server, with its executor started and a run executed, runs without procrastinate or
    psycopg (README's first command installs neither: they are the postgresql extra's)."""
    code = textwrap.dedent(
        f"""
        import sys, time
        from ara.server.app import create_app, start_executor
        from ara.settings import Settings
        app = create_app(Settings(base_dir={str(tmp_path)!r}))
        state = app.state.ara
        executor = start_executor(state)
        assert type(executor).__name__ == "LocalExecutor", executor
        executor.stop()
        print("\\n".join(sorted(sys.modules)))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    loaded = set(out.split())
    assert "ara.engine.local" in loaded  # the check below looked at a server that really started its executor
    assert not {m for m in loaded if m.split(".")[0] in ("procrastinate", "psycopg") or m == "ara.engine.distributed"}


# -- no status group spelled twice ----------------------------------------------------------------------------
_STATUS_VALUES = {status.value for status in (*RunStatus, *ActionStatus)}
_STATUS_ENUMS = {"RunStatus", "ActionStatus"}


def _respelled_groups(tree: ast.AST) -> list[tuple[int, str]]:
    """Tuples, lists and sets of two or more statuses: all string literals that are run or action statuses
    (a collection holding any other word, such as a records status ``expired``, is another vocabulary), or two or
    more ``RunStatus.X``/``ActionStatus.X`` members."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Tuple | ast.List | ast.Set) or len(node.elts) < 2:
            continue
        literals = [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
        members = [
            e
            for e in node.elts
            if isinstance(e, ast.Attribute) and isinstance(e.value, ast.Name) and e.value.id in _STATUS_ENUMS
        ]
        if (len(literals) == len(node.elts) and set(literals) <= _STATUS_VALUES) or len(members) >= 2:
            found.append((node.lineno, ast.unparse(node)))
    return found


def test_the_group_detector_finds_what_it_looks_for() -> None:
    sample = textwrap.dedent(
        """
        a = status in ("running", "waiting")
        b = select(X).where(X.status.in_(["completed", "failed", "cancelled"]))
        c = {RunStatus.SLEEPING, RunStatus.RETRYING}
        d = frozenset({"completed", "failed", "expired"})  # records statuses: not ours
        e = ("running",)
        f = ("name", "status")
        """
    )
    assert sorted(line for line, _ in _respelled_groups(ast.parse(sample))) == [2, 3, 4]


def test_no_module_outside_lifecycle_spells_a_status_group() -> None:
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        if path.is_relative_to(SRC / "lifecycle"):
            continue
        for line, text in _respelled_groups(ast.parse(path.read_text(), str(path))):
            offenders.append(f"{path.relative_to(SRC.parent)}:{line}: {text}")
    assert not offenders, "status groups belong in ara.lifecycle.states:\n" + "\n".join(offenders)
