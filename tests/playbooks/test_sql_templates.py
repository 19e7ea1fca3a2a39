"""SQL query templates: values become bind parameters wherever a value can stand, and are refused elsewhere."""

from __future__ import annotations

import pytest

from ara.errors import ValidationFailed
from ara.playbooks.sql_templates import render_query

CONTEXT = {"params": {"v": "x'; DROP TABLE t; --", "n": "3"}}


@pytest.mark.parametrize(
    ("query", "expected", "binds"),
    [
        ("SELECT {{ params.v }}", "SELECT :ara_value_1 ", {"ara_value_1": CONTEXT["params"]["v"]}),
        ("SELECT '{{ params.v }}', 'it''s'", "SELECT :ara_value_1 , 'it''s'", {"ara_value_1": CONTEXT["params"]["v"]}),
        ("SELECT {{ params.n | int }}::int", "SELECT :ara_value_1 ::int", {"ara_value_1": 3}),
        ("SELECT 1 -- {{ params.v }}\n, $(.params.n)", "SELECT 1 -- \n, :ara_value_2 ", {"ara_value_2": "3"}),
        ("SELECT 1 /* {{ params.v }} */", "SELECT 1 /*  */", {}),
        ("SELECT $$ no {templates} $$", "SELECT $$ no {templates} $$", {}),
    ],
)
def test_values_become_bind_parameters(query: str, expected: str, binds: dict[str, object]) -> None:
    assert render_query(query, CONTEXT, field="q") == (expected, binds)


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * FROM t WHERE name LIKE '%{{ params.v }}%'",
        'SELECT "{{ params.v }}" FROM t',
        "DO $body$ BEGIN RAISE NOTICE '{{ params.v }}'; END $body$",
    ],
)
def test_a_template_where_no_value_can_stand_is_refused(query: str) -> None:
    with pytest.raises(ValidationFailed, match="cannot stand"):
        render_query(query, CONTEXT, field="q")
