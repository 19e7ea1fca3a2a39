"""Exec script templates, run by a real bash: wherever a template stands, the script sees exactly the value, and
no value ever runs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ara.errors import ValidationFailed
from ara.playbooks.script_templates import ENV_LIMIT, interpreter, render_script


def _run(script: str, value: str, tmp_path: Path) -> str:
    rendered, env = render_script(script, {"params": {"v": value}}, field="script", spill_dir=tmp_path / "values")
    assert value not in rendered or not value  # only references are written into the script
    done = subprocess.run(
        ["bash", "-c", rendered], env={"PATH": "/usr/bin:/bin", **env}, cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


SCRIPTS = {
    "unquoted": "printf '%s' {{ params.v }}",
    "single quotes": "printf '%s' 'before {{ params.v }} after'",
    "double quotes": "printf '%s' \"before {{ params.v }} after\"",
    "command substitution": "x=\"$(printf '%s' {{ params.v }})\"; printf '%s' \"$x\"",
    "backticks": "x=`printf '%s' {{ params.v }}`; printf '%s' \"$x\"",
    "case in command substitution": "x=\"$(case a in a) printf '%s' {{ params.v }};; esac)\"; printf '%s' \"$x\"",
    "here-document": "cat <<EOF\n{{ params.v }}\nEOF",
    "command substitution in a here-document": "cat <<EOF\n$(printf '%s' {{ params.v }})\nEOF",
    "here-string": "cat <<< {{ params.v }}",
    "ansi-c quotes": "printf '%s' $'before\\t{{ params.v }}\\tafter'",
    "after ansi-c quotes": "printf '%s' $'it\\'s' {{ params.v }}",
    "go style": "printf '%s' $(.params.v)",
    "comment then code": "# {{ params.v }}\nprintf '%s' {{ params.v }}",
}
WRAPPED = {
    "single quotes": "before {} after",
    "double quotes": "before {} after",
    "here-document": "{}\n",
    "here-string": "{}\n",
    "command substitution in a here-document": "{}\n",
    "ansi-c quotes": "before\t{}\tafter",
    "after ansi-c quotes": "it's{}",
}


PAYLOADS = ["x $(touch {m})", "`touch {m}`", "; touch {m}", "'; touch {m}; '", '"; touch {m}; "', "a\nEOF\ntouch {m}"]


@pytest.mark.parametrize("where", SCRIPTS)
@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_value_is_exactly_itself_wherever_it_stands(where: str, payload: str, tmp_path: Path) -> None:
    marker = tmp_path / "owned"
    value = payload.format(m=marker)
    assert _run(SCRIPTS[where], value, tmp_path) == WRAPPED.get(where, "{}").format(value)
    assert not marker.exists()


def test_arithmetic_takes_integers_only(tmp_path: Path) -> None:
    assert _run("echo $(( {{ params.v }} + 1 ))", "41", tmp_path) == "42\n"
    with pytest.raises(ValidationFailed, match="integer"):
        _run("echo $(( {{ params.v }} + 1 ))", f"a[$(touch {tmp_path / 'owned'})]", tmp_path)


ARITHMETIC = {  # each prints 42 for the value 13
    "test": '[[ "{{ params.v }}" -eq 26/2 ]] && echo 42',
    "test, single quotes": "[[ 1 -lt '{{ params.v }}' ]] && echo 42",
    "old arithmetic": "echo $[ {{ params.v }} + 29 ]",
    "quoted in arithmetic": 'echo $(( "{{ params.v }}" + 29 ))',
    "quoted in an arithmetic command": '(( "{{ params.v }}" == 26/2 )) && echo 42',
    "subscript": 'a=({0..42}); echo "${a[{{ params.v }}+29]}"',
    "subscript assignment": "a[{{ params.v }}]=42; echo ${a[26/2]}",
    "substring": 's="$(seq -s, 0 42)"; echo "${s:{{ params.v }}*9-1:2}"',
    "let": 'let "n = {{ params.v }} + 29"; echo "$n"',
    "let after then": 'if true; then let "n = {{ params.v }} + 29"; fi; echo "$n"',
    "subscript assignment in a group": "{ a[{{ params.v }}]=42; }; echo ${a[26/2]}",
    "declare -i": "declare -i n={{ params.v }}+29; echo $n",
    "here-document": "cat <<EOF\n$(( {{ params.v }} + 29 ))\nEOF",
    "arithmetic command without a blank": "i=29; while((i<{{ params.v }}+29)); do ((i++)); done; echo $i",
}


@pytest.mark.parametrize("where", ARITHMETIC)
def test_bash_arithmetic_takes_integers_only_wherever_it_stands(where: str, tmp_path: Path) -> None:
    """Bash evaluates these as arithmetic, where ``a[$(cmd)]`` runs cmd: only an integer may stand there."""
    assert _run(ARITHMETIC[where], "13", tmp_path) == "42\n"
    with pytest.raises(ValidationFailed, match="integer"):
        _run(ARITHMETIC[where], f"a[$(touch {tmp_path / 'owned'})]", tmp_path)
    assert not (tmp_path / "owned").exists()


SET_ZQ = 'read "Z$(echo q)" <<< 42; '
NAMES = {  # each prints 42 for the value Zq
    "printf -v": 'printf -v "{{ params.v }}" %s 42; v=${!Z*}; echo "${!v}"',
    "read": 'read {{ params.v }} <<< 42; v=${!Z*}; echo "${!v}"',
    "declare": 'declare "{{ params.v }}=42"; v=${!Z*}; echo "${!v}"',
    "test -v": SET_ZQ + "[[ -v {{ params.v }} ]] && echo 42",
    "[ -v ]": SET_ZQ + 'if [ -v "{{ params.v }}" ]; then echo 42; fi',
}


@pytest.mark.parametrize("where", NAMES)
def test_a_variable_name_must_be_a_name(where: str, tmp_path: Path) -> None:
    """Bash evaluates the subscript of a name it is given (``a[$(cmd)]`` runs cmd): only a name may stand there."""
    assert _run(NAMES[where], "Zq", tmp_path) == "42\n"
    with pytest.raises(ValidationFailed, match="must be a name"):
        _run(NAMES[where], f"a[$(touch {tmp_path / 'owned'})]", tmp_path)
    assert not (tmp_path / "owned").exists()


def test_strings_beside_arithmetic_stay_strings(tmp_path: Path) -> None:
    script = '[[ "{{ params.v }}" == a* && 1 -eq 1 ]] && echo "${HOME:-[{{ params.v }}]}" file[{{ params.v }}]'
    assert _run(script, "ab", tmp_path) == "[ab] file[ab]\n"


def test_commands_starting_with_a_dot_are_the_authors(tmp_path: Path) -> None:
    """Only ``$(.a.path)`` is the Go-style template: ``$(./run.sh)`` and ``$(. ./env)`` stay commands."""
    (tmp_path / "run.sh").write_text("echo ran")
    (tmp_path / "run.sh").chmod(0o755)
    script = 'printf "%s|" "$(./run.sh)" "$(. /dev/null; echo sourced)" "$( .params.v )"'
    assert _run(script, "x", tmp_path) == "ran|sourced|x|"


def test_quoted_here_documents_refuse_templates(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed, match="here-document"):
        _run("cat <<'EOF'\n{{ params.v }}\nEOF", "x", tmp_path)


def test_a_nul_byte_is_refused_with_the_reason(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed, match="NUL"):
        _run("printf '%s' {{ params.v }}", "a\x00b", tmp_path)


def test_a_large_value_is_read_from_a_file(tmp_path: Path) -> None:
    value = "y" * (ENV_LIMIT + 10) + " $(touch owned)"
    assert _run('printf "%s" "{{ params.v }}"', value, tmp_path) == value
    assert not (tmp_path / "owned").exists()


@pytest.mark.parametrize(
    ("script", "program"),
    [
        ("echo", "bash"),
        ("#!/bin/sh -e\necho", "sh"),
        ("#!/usr/bin/env -S bash -eu\necho", "bash"),
        ("#!/usr/bin/env python3\nprint()", "python3"),
    ],
)
def test_interpreter(script: str, program: str) -> None:
    assert interpreter(script) == program


def test_other_interpreters_are_not_templated(tmp_path: Path) -> None:
    script = '#!/usr/bin/env python3\nprint(f"{{ params.v }}")\n'
    assert render_script(script, {"params": {"v": "x"}}, field="s", spill_dir=tmp_path) == (script, {})
