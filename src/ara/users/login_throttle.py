"""Password guessing is slowed per username: after ``limit`` wrong passwords within ``window`` seconds, that name's
password is not checked again (no argon2, a 429 naming the wait) until the oldest of them is ``window`` old.

Per username rather than per address: a guesser who changes address still meets the limit. A caller whose
password was verified before the guessing started keeps working (its verification is cached, see
``CredentialChecker``), so a guesser cannot lock out the clients already logged in; a new login of that name waits
with the rest. Kept in memory, per server process: a restart forgets it.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from ara.errors import RateLimited


class LoginThrottle:
    MAX_NAMES = 10_000  # names tracked at most; past it, those with no failure in the window are forgotten

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, username: str) -> None:
        """RateLimited (with the seconds to wait) while ``username`` has ``limit`` failures within the window."""
        now = self.clock()
        with self._lock:
            recent = self._recent(username, now)
            if recent is None or len(recent) < self.limit:
                return
            wait = max(math.ceil(recent[0] + self.window - now), 1)
        raise RateLimited(f"too many wrong passwords for this user; try again in {wait} s", {"retry_after": wait})

    def failed(self, username: str) -> None:
        now = self.clock()
        with self._lock:
            recent = self._recent(username, now)
            if recent is None:
                if len(self._failures) >= self.MAX_NAMES:
                    self._sweep(now)
                recent = self._failures[username] = deque(maxlen=self.limit)
            recent.append(now)

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop(username, None)

    def _recent(self, username: str, now: float) -> deque[float] | None:
        """The name's failures within the window (older ones dropped), None if it has none."""
        recent = self._failures.get(username)
        if recent is None:
            return None
        while recent and recent[0] <= now - self.window:
            recent.popleft()
        if not recent:
            del self._failures[username]
            return None
        return recent

    def _sweep(self, now: float) -> None:
        self._failures = {name: times for name, times in self._failures.items() if times[-1] > now - self.window}
