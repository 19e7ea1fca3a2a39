"""Loads a bench dataset into upstream ARA 1.8's database through its own DRF serializers (run by bench/queries.py).

Runs with the upstream virtualenv's Python, ``ARA_BASE_DIR`` naming the server's folder (``ara-manage migrate``
done). Upstream's server commits each request on its own, about 20 writes/s on this machine's SQLite, so its
HTTP API cannot load 40,000 results in reasonable time: the same payloads go through the serializers it uses
for those requests (validation, compression, file and host get-or-create), in one transaction.

Usage: python upstream_load.py DATASET.json   (prints the ids it created as JSON)
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ara.server.settings")
    import django

    django.setup()
    from ara.api import serializers
    from django.db import transaction

    by_kind: dict[str, Any] = {
        "playbooks": serializers.PlaybookSerializer,
        "files": serializers.FileSerializer,
        "plays": serializers.PlaySerializer,
        "tasks": serializers.TaskSerializer,
        "hosts": serializers.HostSerializer,
        "results": serializers.ResultSerializer,
        "records": serializers.RecordSerializer,
    }
    with open(sys.argv[1], encoding="utf-8") as handle:
        operations = json.load(handle)
    ids: dict[str, int] = {}

    def resolve(value: Any) -> Any:
        if isinstance(value, str) and value.startswith("@"):
            return ids[value[1:]]
        if isinstance(value, list):
            return [resolve(item) for item in value]
        return value

    with transaction.atomic():
        for operation in operations:
            body = {key: resolve(value) for key, value in operation["body"].items()}
            serializer = by_kind[operation["kind"]](data=body)
            if not serializer.is_valid():
                raise SystemExit(f"{operation['kind']}: {serializer.errors}")
            obj = serializer.save()
            if operation.get("ref"):
                ids[operation["ref"]] = obj.id
    print(json.dumps(ids))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
