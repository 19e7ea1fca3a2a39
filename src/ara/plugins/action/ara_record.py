"""``ara_record``: store a key/value record on the running playbook (or another one), idempotently."""

from __future__ import annotations

from typing import Any

from ansible.plugins.action import ActionBase

from ara.plugins import shared

DOCUMENTATION = """
---
module: ara_record
short_description: Records persistent key/value data on a playbook recorded by Ara
description:
    - Records persistent key/value data on a playbook recorded by Ara, creating or updating the key
options:
    playbook_id:
        description:
            - id of the playbook to write the key to
            - if not set, the module will use the ongoing playbook's id
        required: false
    key:
        description:
            - Name of the key to write data to
        required: true
    value:
        description:
            - Value of the key written to
        required: true
    type:
        description:
            - Type of the key
        choices: [text, url, json, list, dict]
        default: text
"""

EXAMPLES = """
- name: Record the version that was deployed
  ara_record:
    key: version
    value: "{{ version }}"

- name: Record several types
  ara_record:
    key: "{{ item.key }}"
    value: "{{ item.value }}"
    type: "{{ item.type }}"
  loop:
    - { key: "log", value: "error", type: "text" }
    - { key: "website", value: "http://domain.tld", type: "url" }
    - { key: "data", value: "{ 'key': 'value' }", type: "json" }
    - { key: "somelist", value: ['one', 'two'], type: "list" }
    - { key: "somedict", value: {'key': 'value' }, type: "dict" }
"""

RETURN = """
playbook_id:
    description: ID of the playbook the data was recorded in
    returned: on success
    type: int
key:
    description: Key where the record is saved
    returned: on success
    type: str
value:
    description: Value of the key
    returned: on success
    type: complex
type:
    description: Type of the key
    returned: on success
    type: str
created:
    description: Date the record was created (ISO-8601)
    returned: on success
    type: str
updated:
    description: Date the record was updated (ISO-8601)
    returned: on success
    type: str
"""


class ActionModule(ActionBase):
    """Record persistent data as key/value pairs in Ara."""

    TRANSFERS_FILES = False
    VALID_ARGS = frozenset(("playbook_id", "key", "value", "type"))
    VALID_TYPES = ("text", "url", "json", "list", "dict")

    def create_or_update_key(self, client: Any, playbook: int, key: str, value: Any, type: str) -> tuple[Any, bool]:
        found = client.get("/api/v1/records", playbook=playbook, key=key)
        if found["count"] == 0:
            return client.post("/api/v1/records", playbook=playbook, key=key, value=value, type=type), True
        old = client.get(f"/api/v1/records/{found['results'][0]['id']}")
        if old["value"] != value or old["type"] != type:
            return client.patch(f"/api/v1/records/{old['id']}", key=key, value=value, type=type), True
        return old, False

    def run(self, tmp: Any = None, task_vars: Any = None) -> dict[str, Any]:
        for arg in self._task.args:
            if arg not in self.VALID_ARGS:
                return {"failed": True, "msg": f"{arg} is not a valid option."}

        result: dict[str, Any] = super().run(tmp, task_vars or {})
        args = self._task.args
        playbook_id = args.get("playbook_id")
        key = args.get("key")
        value = args.get("value")
        type_ = args.get("type", "text")

        for parameter in ("key", "value"):
            if not args.get(parameter):
                result.update(failed=True, msg=f"Parameter '{parameter}' is required")
                return result
        if type_ not in self.VALID_TYPES:
            result.update(
                failed=True, msg=f"Type '{type_}' is not supported, choose one of: {', '.join(self.VALID_TYPES)}"
            )
            return result

        try:
            client = shared.active_client()
            if playbook_id is None:
                playbook_id = shared.playbook_id_of_task(client, self._task)
            data, changed = self.create_or_update_key(client, playbook_id, str(key), value, type_)
        except Exception as exc:
            result.update(changed=False, failed=True, msg=f"Record failed to be created or updated in ARA: {exc}")
            return result
        result.update(
            changed=changed,
            key=data["key"],
            value=data["value"],
            type=data["type"],
            playbook_id=data["playbook"],
            created=data["created"],
            updated=data["updated"],
            msg="Record created or updated in ARA" if changed else "Record unchanged in ARA",
        )
        return result
