"""Where each template output stands in a rendered shell script (unquoted, in single, double or ``$'...'`` quotes,
in a here-document, in arithmetic), so the reference put there reads as exactly the value.

Only references (``${ARA_VALUE_1}``) are ever put into the script, never a value: a quoting context this small
lexer misjudges gives a wrong word, not code. The one place bash runs a variable's value is arithmetic (in
``a[$(cmd)]``), so every place bash evaluates as arithmetic must be seen here, and takes integers only. The
rendered script carries a marker per output (``templating.render_marked``) that ``substitute`` replaces."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable

from ara.playbooks.templating import MARKER

UNQUOTED, SINGLE, DOUBLE, ANSI_C, HEREDOC, QUOTED_HEREDOC, ARITHMETIC, NAME = (
    "unquoted",
    "single",
    "double",
    "ansi-c",
    "heredoc",
    "quoted-heredoc",
    "arithmetic",
    "name",  # a variable's name (``printf -v``, ``read``, ``declare``, ``-v``): bash evaluates its subscript
)
_WORD_BREAK = " \t\n;|&()<>"
# Bash evaluates text as arithmetic (where ``a[$(cmd)]`` runs cmd) in more places than ``$(( ))`` and ``(( ))``:
# ``$[ ]``, an indexed array's subscript, a substring's offset and length, ``let`` and ``declare -i`` (checked on
# the output so far, when a template comes), and the operands of ``[[ ]]``'s arithmetic tests (checked when it
# closes). A value the script itself hands to arithmetic later (``n={{ x }}; (( n > 1 ))``) is the author's to check.
_COMMAND = r"(?:^|[;&|(\n{]|\b(?:then|do|else|if|elif|while|until|!))[ \t]*"  # where a command may start
_ARITHMETIC_BEFORE = re.compile(
    r"\$\[[^\]]*$"  # $[ ... ]
    r"|\$\{[#!]?[A-Za-z_]\w*\[[^\]]*$"  # ${a[ ... ]}
    rf"|{_COMMAND}(?:(?:unset|declare|typeset|local|readonly|export)(?:\s+-\w+)*\s+)?[A-Za-z_]\w*\[[^\]]*$"  # a[ ]=
    r"|\$\{[A-Za-z_]\w*(?:\[[^\]]*\])?:(?![-=+?])[^}]*$"  # ${s:offset:length}
    rf"|{_COMMAND}(?:let|(?:declare|typeset|local)(?:\s+-\w+)*\s+-\w*i)\s[^;&|\n]*$"  # let, declare -i
)
_NAME_BEFORE = re.compile(
    _COMMAND + r"(?:(?:declare|typeset|local|export|readonly|unset|read)(?:\s+[^\s;&|<>]+)*?"
    r"|printf(?:\s+-\w+)*?\s+-v|(?:test|\[)\s+-v)\s+[\"']?$"
)
_COMMAND_POSITION = re.compile(_COMMAND + r"\Z")
_TEST_ARITHMETIC = {"-eq", "-ne", "-lt", "-le", "-gt", "-ge"}


def substitute(script: str, reference: Callable[[int, str], str], start: str = UNQUOTED) -> str:
    """``script`` with each marker replaced by ``reference(number, context)`` (``start``: HEREDOC for the body of
    an unquoted here-document, which reads like double quotes whose ``"`` is just a character)."""
    out: list[str] = []
    stack = [start]  # UNQUOTED also stands for $( ), ( ), backticks, [[ ]] and case: "c", "p", "b", "t", "k"
    pending: list[tuple[str, bool, bool]] = []  # here-documents opened on this line: (delimiter, strip tabs, quoted)
    tests: list[int] = []  # where each open ``[[`` began ("t" on the stack)
    i, size, word_start = 0, len(script), True
    while i < size:
        found = MARKER.match(script, i)
        top = stack[-1]
        if found:
            context = {SINGLE: SINGLE, DOUBLE: DOUBLE, HEREDOC: HEREDOC, ANSI_C: ANSI_C, "a": ARITHMETIC}.get(
                top, UNQUOTED
            )
            quoted_in = [frame for frame in stack if frame not in (SINGLE, DOUBLE, ANSI_C)][-1]  # $(( "x" ))
            before = "".join(out[-400:])
            if (context in (SINGLE, DOUBLE, ANSI_C) and quoted_in == "a") or (
                context in (UNQUOTED, DOUBLE, HEREDOC) and _ARITHMETIC_BEFORE.search(before)
            ):
                reference(int(found[1]), ARITHMETIC)  # for its check only: the value must be an integer
            elif context != HEREDOC and _NAME_BEFORE.search(before):
                reference(int(found[1]), NAME)  # for its check only: the value must be a name
            out.append(reference(int(found[1]), context))
            i, word_start = found.end(), False
            continue
        ch = script[i]
        if top == SINGLE:
            if ch == "'":
                stack.pop()
        elif top == ANSI_C:
            if ch == "\\":
                out.append(script[i : i + 2])
                i += 2
                continue
            if ch == "'":
                stack.pop()
        elif top in (DOUBLE, HEREDOC):
            if ch == "\\":
                out.append(script[i : i + 2])
                i += 2
                continue
            if ch == '"' and top == DOUBLE:
                stack.pop()
            elif script.startswith("$((", i):
                stack.append("a")
                out.append("$((")
                i += 3
                continue
            elif script.startswith("$(", i):
                stack.append("c")
                out.append("$(")
                i, word_start = i + 2, True
                continue
            elif ch == "`":
                stack.append("b")
        else:
            if ch == "\\":
                out.append(script[i : i + 2])
                i, word_start = i + 2, False
                continue
            if ch == "#" and word_start and top != "a":
                end = script.find("\n", i)
                end = size if end < 0 else end
                out.append(MARKER.sub(lambda m: reference(int(m[1]), UNQUOTED), script[i:end]))
                i = end
                continue
            if script.startswith("<<<", i):
                out.append("<<<")
                i, word_start = i + 3, True
                continue
            if script.startswith("<<", i) and top != "a":
                end, heredoc = _heredoc_operator(script, i)
                pending.append(heredoc)
                out.append(script[i:end])
                i, word_start = end, False
                continue
            if script.startswith("$'", i):
                stack.append(ANSI_C)
                out.append("$'")
                i += 2
                continue
            if word_start and script.startswith("[[", i) and script[i + 2 : i + 3] in (" ", "\t", "\n"):
                stack.append("t")
                tests.append(i + 2)
            elif top == "t" and script.startswith("]]", i):
                stack.pop()
                _check_test(script[tests.pop() : i], reference)
            elif re.match(r"case\s", script[i : i + 5]) and _COMMAND_POSITION.search(script, 0, i):
                stack.append("k")  # its patterns' ``)`` close nothing
            elif top == "k" and re.match(r"esac\b", script[i : i + 5]) and _COMMAND_POSITION.search(script, 0, i):
                stack.pop()
            if ch == "'":
                stack.append(SINGLE)
            elif ch == '"':
                stack.append(DOUBLE)
            elif script.startswith("$((", i) or script.startswith("((", i):  # ((, also in while((, if((
                stack.append("a")
                width = 3 if ch == "$" else 2
                out.append(script[i : i + width])
                i += width
                continue
            elif script.startswith("$(", i):
                stack.append("c")
                out.append("$(")
                i, word_start = i + 2, True
                continue
            elif ch == "(":
                stack.append("p")
            elif ch == ")" and top == "a" and script.startswith("))", i):
                stack.pop()
                out.append("))")
                i += 2
                continue
            elif ch == ")" and top in ("c", "p"):
                stack.pop()
            elif ch == "`":
                if top == "b":
                    stack.pop()
                else:
                    stack.append("b")
            elif ch == "\n" and pending:
                out.append(ch)
                i = _heredoc_bodies(script, i + 1, pending, out, reference)
                pending = []
                word_start = True
                continue
        out.append(ch)
        word_start = ch in _WORD_BREAK
        i += 1
    return "".join(out)


def _check_test(expression: str, reference: Callable[[int, str], str]) -> None:
    """Each template in an operand of ``[[ ]]``'s ``-eq``, ``-lt``, ... checked as arithmetic, of ``-v`` as a name."""
    try:
        words = shlex.split(expression, comments=False)
    except ValueError:  # quoting shlex cannot follow: every template in it is checked
        words = [expression]
        checks = [ARITHMETIC]
    else:
        checks = [_operand_check(words, k) for k in range(len(words))]
    for word, check in zip(words, checks, strict=True):
        for found in MARKER.finditer(word) if check else ():
            reference(int(found[1]), check)  # for its check only


def _operand_check(words: list[str], k: int) -> str | None:
    before = words[k - 1] if k else ""
    after = words[k + 1] if k + 1 < len(words) else ""
    if before in _TEST_ARITHMETIC or after in _TEST_ARITHMETIC:
        return ARITHMETIC
    return NAME if before == "-v" else None


def _heredoc_operator(script: str, start: int) -> tuple[int, tuple[str, bool, bool]]:
    """``<<EOF``, ``<<-'EOF'``, ``<< "EOF"``: where the operator's word ends, and the here-document it opens."""
    j = start + 2
    strip = script.startswith("-", j)
    j += 1 if strip else 0
    while j < len(script) and script[j] in " \t":
        j += 1
    begin = j
    while j < len(script) and script[j] not in _WORD_BREAK:
        if script[j] in "'\"":
            close = script.find(script[j], j + 1)
            j = len(script) if close < 0 else close + 1
        else:
            j += 1
    word = script[begin:j]
    quoted = any(q in word for q in "'\"\\")
    return j, (re.sub(r"['\"\\]", "", word), strip, quoted)


def _heredoc_bodies(
    script: str, i: int, pending: list[tuple[str, bool, bool]], out: list[str], reference: Callable[[int, str], str]
) -> int:
    """Copy each pending here-document's body (through its delimiter line); returns where the script goes on."""
    for delimiter, strip, quoted in pending:
        body: list[str] = []
        while i < len(script):
            end = script.find("\n", i)
            end = len(script) if end < 0 else end + 1
            line = script[i:end]
            i = end
            bare = line.rstrip("\n").lstrip("\t") if strip else line.rstrip("\n")
            if bare == delimiter:
                break
            body.append(line)
        else:
            line = ""
        if quoted:
            out.append(MARKER.sub(lambda m: reference(int(m[1]), QUOTED_HEREDOC), "".join(body)))
        else:  # ``$( )``, ``$(( ))`` and ``${a[ ]}`` work here as in double quotes
            out.append(substitute("".join(body), reference, HEREDOC))
        out.append(line)
    return i
