"""Runs inside the sandbox (``python3 -I -c <this file's text>``), never in the server: reads one JSON request
``{source, function_name, args, kwargs}`` on stdin, ``exec``s the author's source in a fresh namespace, calls the
function and prints one JSON line ``{"ok": true, "value": ...}`` or ``{"ok": false, "error": "<Type>: <text>"}``
as the last line of stdout. What the author's code prints goes to stderr, so it cannot forge the answer.

Standard library only: the sandbox's own ``python3`` runs it, without the server's packages."""

import __future__

import json
import sys


def main() -> None:
    answer = sys.stdout
    sys.stdout = sys.stderr  # the author's print() calls
    try:
        request = json.loads(sys.stdin.read())
        # Annotations stay unevaluated, so ``def f(x: Optional[int])`` needs no ``typing`` import: the manifest
        # carries the function alone, without its module's imports.
        code = compile(
            request["source"],
            "<app:" + request["function_name"] + ">",
            "exec",
            flags=__future__.annotations.compiler_flag,
            dont_inherit=True,
        )
        namespace = {"__name__": "__ara_app__", "__builtins__": __builtins__}
        exec(code, namespace)  # noqa: S102 - this is the sandbox: running the author's code is its job
        function = namespace.get(request["function_name"])
        if not callable(function):
            raise NameError("the source defines no function " + repr(request["function_name"]))
        value = function(*request.get("args") or [], **request.get("kwargs") or {})
        text = json.dumps({"ok": True, "value": value}, default=repr)
    except BaseException as exc:  # noqa: BLE001 - every failure of the author's code is an answer, not a crash
        detail = str(exc)
        text = json.dumps({"ok": False, "error": type(exc).__name__ + (": " + detail if detail else "")})
    sys.stdout = answer
    answer.write("\n" + text + "\n")
    answer.flush()


if __name__ == "__main__":  # run by ``python3 -c``; importing it (a module scan) runs nothing
    main()
