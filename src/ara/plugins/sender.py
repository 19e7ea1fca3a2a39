"""One ordered queue of API calls drained by one background thread, so Ansible never waits on the server.

The callback turns each event into a small closure and appends it; the sender thread runs them in order.
Objects created by the queue are known to later entries through a ``Ref``: the call that creates a host or a
task fills its ``Ref`` with the id the server answered, and a later call reads ``ref.value``. Order is what
makes this safe: a result is queued after its task and host, so their ids are known by the time it runs.

What happens when the server fails (one warning in all, shown by the callback from Ansible's own thread):

* the server cannot be reached (connection refused, timeout, TLS error): sending stops for good and the rest
  of the queue is dropped. Every further call would fail the same way, each after waiting up to the timeout,
  and the end of the run would wait for all of them.
* the server answers an error (4xx/5xx): that one call is lost and its ``Ref`` stays empty; calls that need
  the missing id are skipped (``Unresolved``) and everything else goes on. A result is never attached to the
  wrong task or host, and objects already written are never patched with guesses.

The offline client the callback uses runs the API in a child process (``ara.clients.child``), so this process
never sits inside a database transaction when Ansible forks a worker.

The queue is a ``deque`` (appends are atomic) and the thread wakes on an ``Event``; the signal handler path
(``wait_idle``/``stop``) takes no lock, so it is safe even when the signal lands inside ``submit``.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from typing import Any

from ara.clients.base import AraClient
from ara.clients.errors import ApiError, TransportError


class Unresolved(Exception):
    """A call needs the id of an object whose creation failed or was skipped."""


class Ref:
    """The id of an object the queue creates, once it has been created."""

    __slots__ = ("id",)

    def __init__(self, id: int | None = None) -> None:
        self.id = id

    @property
    def value(self) -> int:
        if self.id is None:
            raise Unresolved
        return self.id


Call = Callable[[AraClient], Any]


class Sender:
    def __init__(self, client: AraClient) -> None:
        self.client = client
        self.error: str | None = None  # the first failure, for the callback to report once
        self.stopped = False  # the server is unreachable: nothing more is sent
        self.sent = 0
        self._queue: collections.deque[tuple[Call, threading.Event | None]] = collections.deque()
        self._wakeup = threading.Event()
        self._busy = False
        self._waiting = False
        self._thread: threading.Thread | None = None
        self._closing = False

    # -- producer side (Ansible's thread) -------------------------------------------------------------------
    def submit(self, call: Call) -> None:
        if self.stopped:
            return
        self._queue.append((call, None))
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="ara-sender", daemon=True)
            self._thread.start()
        if self._waiting:  # only wake a thread that sleeps: Event.set takes a lock, and this runs per result
            self._wakeup.set()

    def call_now(self, call: Call) -> Any:
        """Run a call on this thread (the few that Ansible must wait for); failures are handled as queued ones."""
        if self.stopped:
            raise Unresolved
        return self._execute(call)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything queued so far has run; False if that took longer than ``timeout``."""
        if self._thread is None or not self._thread.is_alive():
            return not self._queue
        done = threading.Event()
        self._queue.append((_noop, done))
        self._wakeup.set()
        return done.wait(timeout)

    def wait_idle(self, timeout: float) -> bool:
        """Like ``flush`` but lock-free (for signal handlers): polls until the queue is empty and nothing runs."""
        deadline = time.monotonic() + timeout
        while (self._queue or self._busy) and not self.stopped:
            if self._thread is None or not self._thread.is_alive() or time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def stop(self) -> None:
        """Send nothing more: what is still queued is dropped as the thread reaches it."""
        self.stopped = True

    def close(self, timeout: float | None = None) -> None:
        self.flush(timeout)
        self._closing = True
        self._wakeup.set()
        if self._thread is not None:
            self._thread.join(timeout=1)

    # -- consumer side (the sender thread) ------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            self._busy = True  # before popping, so ``wait_idle`` never sees an empty queue and an idle thread early
            try:
                call, done = self._queue.popleft()
            except IndexError:
                self._busy = False
                if self._closing:
                    return
                self._waiting = True
                self._wakeup.clear()
                if not self._queue:
                    # The timeout covers calls appended from a signal handler, which do not set the event.
                    self._wakeup.wait(0.5)
                self._waiting = False
                continue
            try:
                if done is None and not self.stopped:
                    self._execute(call)
            except Unresolved:
                pass
            finally:
                self._busy = False
                if done is not None:
                    done.set()

    def _execute(self, call: Call) -> Any:
        try:
            result = call(self.client)
        except Unresolved:
            raise
        except TransportError as exc:
            self._fail(f"cannot reach the server, nothing more is recorded for this run: {exc}")
            self.stop()
            raise Unresolved from exc
        except ApiError as exc:
            self._fail(f"the server refused a request, the run is recorded partially: {exc}")
            raise Unresolved from exc
        except Exception as exc:  # a bug here must not break the Ansible run
            self._fail(f"unexpected error while recording: {exc!r}")
            raise Unresolved from exc
        self.sent += 1
        return result

    def _fail(self, message: str) -> None:
        if self.error is None:
            self.error = message


def _noop(client: AraClient) -> None:
    return None
