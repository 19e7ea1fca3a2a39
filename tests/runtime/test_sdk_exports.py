"""``ara_sdk``'s public names: a sorted ``__all__`` that is exactly what the package exports (httpx's habit)."""

from __future__ import annotations

import ara_sdk


def test_all_is_sorted_and_complete() -> None:
    public = sorted(name for name in vars(ara_sdk) if not name.startswith("_") and name[0].isupper())
    assert ara_sdk.__all__ == sorted(ara_sdk.__all__) == public
    assert {"AraRuntimeClient", "AraApiError"} <= set(ara_sdk.__all__)
    assert issubclass(ara_sdk.AraApiError, RuntimeError)  # ara-sdk raises RuntimeError: callers' excepts still work
