"""The search box's language: what each term means, and a message naming the mistake for what cannot be read."""

from __future__ import annotations

import pytest

from ara.errors import ValidationFailed
from ara.search.syntax import APP, KINDS, PLAYBOOK, RESULT, RUN, parse


def test_free_words_phrases_and_filters() -> None:
    query = parse('web deploy "nightly backup" status:FAILED host:web01 label:"prod eu"')
    assert query.words == ("web", "deploy", "nightly backup")
    assert (query.status, query.host, query.label) == ("failed", "web01", "prod eu")
    assert query.kinds == KINDS  # failed is a status of every kind


def test_a_status_only_some_kinds_have_narrows_the_kinds() -> None:
    assert parse("status:unreachable").kinds == (RESULT,)
    assert parse("status:pending_approval").kinds == (RUN, APP)
    assert parse("status:expired").kinds == (PLAYBOOK,)
    assert parse("status:completed").kinds == (PLAYBOOK, RUN, APP)
    assert parse("kind:runs kind:agent").kinds == (RUN, APP)


def test_an_empty_search_is_every_kind_without_filters() -> None:
    query = parse("   ")
    assert query.empty and query.kinds == KINDS


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour:red", "Unknown filter colour:"),
        ('"open', "A quote is not closed"),
        ("host:", "host: needs a value"),
        ('label:""', "label: needs a value"),
        ("kind:hosts", "Unknown kind 'hosts'"),
        ("status:ok kind:run", "Unknown status 'ok'"),
        ("host:a host:b", "host: is given twice"),
        ("a\x00b", "null character"),
        (" ".join("w" * 13), "Too many terms"),
    ],
)
def test_mistakes_name_the_field_q(text: str, message: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        parse(text)
    assert list(raised.value.detail) == ["q"]
    assert message in raised.value.detail["q"][0]


def test_the_same_filter_twice_with_the_same_value_is_fine() -> None:
    assert parse("host:a host:a").host == "a"
