"""``ara_api`` lookup: GET any API endpoint, e.g. ``lookup('ara_api', '/api/v1/playbooks/1')``."""

from __future__ import annotations

from typing import Any

from ansible.plugins.lookup import LookupBase

from ara.plugins import shared

DOCUMENTATION = """
    name: ara_api
    short_description: Queries the Ara API for data
    description:
        - Queries the Ara API for data
    options:
        _terms:
            description:
                - The endpoint to query
            type: list
            elements: string
            required: True
"""

EXAMPLES = """
    - debug: msg="{{ lookup('ara_api', '/api/v1/playbooks/1') }}"
"""

RETURN = """
    _raw:
        description: response from query
"""


class LookupModule(LookupBase):
    def run(self, terms: list[Any], variables: Any = None, **kwargs: Any) -> list[Any]:
        client = shared.active_client()
        return [client.get(str(term)) for term in terms]
