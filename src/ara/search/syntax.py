"""The search box's small language: free words plus ``key:value`` filters.

``deploy web status:failed host:web01 label:prod kind:run "two words"``

- free words (or a quoted phrase) must each appear in a hit's name (task, playbook, definition, app, agent, run id);
- ``status:`` one status (a result's: ok, changed, failed, ignored, skipped, unreachable, unknown; a run's: scheduled,
  pending_approval, running, …, completed, failed, cancelled, timed_out); kinds without that status are left out;
- ``host:`` part of a host's name; ``label:`` a label, exactly (case-insensitive);
- ``kind:`` ``result``, ``playbook`` (recorded ``ansible-playbook`` runs), ``run`` or ``app`` (repeatable): which
  groups to search.

A mistake raises ``ValidationFailed`` naming ``q`` with a sentence a person can act on."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ara.errors import ValidationFailed
from ara.lifecycle.states import RunStatus
from ara.records.status import SHOWN_RESULT_STATUSES, PlaybookStatus

RESULT = "result"
PLAYBOOK = "playbook"
RUN = "run"
APP = "app"
KINDS = (RESULT, PLAYBOOK, RUN, APP)
KIND_ALIASES = {
    "result": RESULT,
    "results": RESULT,
    "playbook": PLAYBOOK,
    "playbooks": PLAYBOOK,
    "run": RUN,
    "runs": RUN,
    "app": APP,
    "apps": APP,
    "agent": APP,
}
RESULT_STATUSES = SHOWN_RESULT_STATUSES
RUN_STATUSES = tuple(RunStatus)
PLAYBOOK_STATUSES = tuple(PlaybookStatus)
STATUSES = {RESULT: RESULT_STATUSES, PLAYBOOK: PLAYBOOK_STATUSES, RUN: RUN_STATUSES, APP: RUN_STATUSES}
FILTERS = ("status", "host", "label", "kind")
_EXAMPLE = {"status": "failed", "host": "web01", "label": "prod", "kind": "run"}
MAX_LENGTH = 500
MAX_TERMS = 12

# A term: key:"quoted value", key:value, "a phrase" or a bare word.
_TERM = re.compile(
    r'\s*(?:(?P<key>[A-Za-z_]+):(?:"(?P<qvalue>[^"]*)"|(?P<value>[^\s"]+))|"(?P<phrase>[^"]*)"|(?P<word>[^\s"]+))'
)


@dataclass(frozen=True)
class Query:
    words: tuple[str, ...] = ()
    status: str | None = None
    host: str | None = None
    label: str | None = None
    kinds: tuple[str, ...] = KINDS
    filtered: dict[str, str] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.words or self.status or self.host or self.label)


def _problem(message: str) -> ValidationFailed:
    return ValidationFailed({"q": [message]})


def parse(text: str) -> Query:
    """The query in ``text``; ``ValidationFailed`` (field ``q``) for what cannot be understood."""
    if len(text) > MAX_LENGTH:
        raise _problem(f"The search is too long: at most {MAX_LENGTH} characters.")
    if "\x00" in text:
        raise _problem("The search contains a null character.")
    if text.count('"') % 2:
        raise _problem('A quote is not closed: put a second " after the phrase.')
    words: list[str] = []
    given: dict[str, str] = {}
    kinds: list[str] = []
    position = 0
    for match in _TERM.finditer(text):
        if match.start() != position:  # cannot happen with this pattern, but never skip text silently
            raise _problem(f"Cannot read the search near {text[position : position + 20]!r}.")
        position = match.end()
        key = match.group("key")
        if key is None:
            word = (match.group("phrase") if match.group("phrase") is not None else match.group("word")).strip()
            if match.group("word") and word.endswith(":") and word[:-1].lower() in FILTERS:
                raise _problem(f"{word} needs a value right after the colon, e.g. {word}{_EXAMPLE[word[:-1].lower()]}.")
            if word:
                words.append(word)
            continue
        key = key.lower()
        value = (match.group("qvalue") if match.group("qvalue") is not None else match.group("value")).strip()
        if key not in FILTERS:
            raise _problem(f"Unknown filter {key}: — use {', '.join(f + ':' for f in FILTERS)} or free words.")
        if not value:
            raise _problem(f"{key}: needs a value, e.g. {key}:{_EXAMPLE[key]}.")
        if key == "kind":
            kind = KIND_ALIASES.get(value.lower())
            if kind is None:
                raise _problem(f"Unknown kind {value!r}: use kind:result, kind:playbook, kind:run or kind:app.")
            kinds.append(kind)
            continue
        if key in given and given[key] != value:
            raise _problem(f"{key}: is given twice ({given[key]!r} and {value!r}); give it once.")
        given[key] = value
    if text[position:].strip():
        raise _problem(f"Cannot read the search near {text[position : position + 20]!r}.")
    if len(words) + len(given) + len(kinds) > MAX_TERMS:
        raise _problem(f"Too many terms: at most {MAX_TERMS}.")
    return _query(words, given, kinds)


def _query(words: list[str], given: dict[str, str], kinds: list[str]) -> Query:
    status = given.get("status", "").lower() or None
    chosen = tuple(dict.fromkeys(kinds)) or KINDS
    if status is not None:
        known = tuple(kind for kind in chosen if status in STATUSES[kind])
        if not known:
            every = sorted({s for kind in chosen for s in STATUSES[kind]})
            raise _problem(f"Unknown status {status!r}: use one of {', '.join(every)}.")
        chosen = known
    return Query(
        words=tuple(words),
        status=status,
        host=given.get("host"),
        label=given.get("label"),
        kinds=chosen,
        filtered=given,
    )
