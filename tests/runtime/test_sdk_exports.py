"""``ara_sdk``'s public names: a sorted ``__all__`` that is exactly what the package exports (httpx's habit)."""

from __future__ import annotations

from types import ModuleType

import ara_sdk

LAZY = {"AraClient"}  # imported from its module on first use (ara_sdk.__getattr__)


def test_all_is_sorted_and_complete() -> None:
    names = {name for name, value in vars(ara_sdk).items() if not isinstance(value, ModuleType)}
    public = sorted({name for name in names if not name.startswith("_")} | LAZY)
    assert ara_sdk.__all__ == sorted(ara_sdk.__all__) == public
    assert {"AraRuntimeClient", "AraApiError"} <= set(ara_sdk.__all__)
    assert issubclass(ara_sdk.AraApiError, RuntimeError)  # ara-sdk raises RuntimeError: callers' excepts still work
