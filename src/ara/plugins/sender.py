"""One ordered queue of API calls drained by one background thread, so Ansible never waits on the server.

The callback turns each event into a ``Call`` (``ara.clients.calls``: method, path, body, the ``Ref`` its answer
fills) and appends it; the sender thread sends them in order. A later call names earlier objects by their
``Ref``; order makes this safe: a result is queued after its task and host.

What happens when the server fails (reported by the callback from Ansible's own thread):

* it cannot take a call (refused, reset, time-out, 5xx): the call is retried with backoff for
  ``retry_seconds``. If it still fails, the sender starts *spooling*: this call and every later one are
  appended, in order, to this run's spool file (``ara.clients.spool``); about every second (backing off to 5 s)
  the sender replays the file, and once the server has taken all of it the file is removed and calls are
  sent directly again. Without a spool (the offline client, or ``spool_enabled: false``) sending stops for good.
* it refuses a call (4xx): that one call is lost and its ``Ref`` is marked failed; calls that need it are
  skipped (``Unresolved``) and everything else goes on. A result is never attached to the wrong task or host.

``close(timeout)`` bounds Ansible's wait at the end: whatever is not sent by then (the call in flight
included: creates carry an idempotency key, so sending one twice is harmless) is written to the spool, for the
next callback start or ``ara spool replay``.

The queue is a ``deque`` (appends are atomic) and the thread wakes on an ``Event``; the signal handler path
(``wait_idle``/``stop``) takes no lock, so it is safe even when the signal lands inside ``submit``.
"""

from __future__ import annotations

import collections
import threading
import time
from typing import Any

from ara.clients.base import AraClient
from ara.clients.calls import Call, Pending, Ref, Unresolved, join_path, resolve, retryable, send_retrying
from ara.clients.errors import ApiError
from ara.clients.spool import SpoolWriter, replay_lines

__all__ = ["Call", "Ref", "Sender", "Unresolved"]

PROBE_FIRST = 0.5
PROBE_MAX = 5.0


class Sender:
    def __init__(self, client: AraClient, *, spool: SpoolWriter | None = None, retry_seconds: float = 5.0) -> None:
        self.client = client
        self.spool = spool
        self.retry_seconds = retry_seconds
        self.error: str | None = None  # the first failure, for the callback to report once
        self.stopped = False  # nothing more is sent (no spool and the server is unreachable, or told to stop)
        self.spooling = False
        self.sent = 0
        self.replayed = 0
        self._queue: collections.deque[tuple[Call | None, threading.Event | None]] = collections.deque()
        self._wakeup = threading.Event()
        self._busy = False
        self._waiting = False
        self._thread: threading.Thread | None = None
        self._closing = False
        self._abandoned = False  # close() timed out: the rest went to the spool, the thread sends nothing more
        self._current: Call | None = None
        self._spool_lock = threading.Lock()
        self._spooled_refs: dict[str, Ref] = {}
        self._probe_at = 0.0
        self._probe_delay = PROBE_FIRST

    # -- producer side (Ansible's thread) -------------------------------------------------------------------
    def submit(self, item: Call) -> None:
        if self.stopped:
            return
        self._queue.append((item, None))
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="ara-sender", daemon=True)
            self._thread.start()
        if self._waiting:  # only wake a thread that sleeps: Event.set takes a lock, and this runs per result
            self._wakeup.set()

    def call_now(self, item: Call) -> Any:
        """Send a call Ansible waits for (the playbook, its plays) from this thread; its answer, or None when it
        was queued instead (spooling, an id not known yet, the server not answering) or refused."""
        if self.stopped:
            return None
        if self.spooling:
            self.submit(item)
            return None
        try:
            path, body = join_path(resolve(item.path)), resolve(item.body)
        except Pending:
            self.submit(item)
            return None
        except Unresolved:
            self._failed(item)
            return None
        try:
            answer = send_retrying(self.client, item.method, path, body, item.key, budget=min(self.retry_seconds, 2))
        except Exception as exc:
            if retryable(exc):
                self.submit(item)  # the sender retries it in order, and spools it if need be
            else:
                self._refused(item, exc)
            return None
        self._filled(item, answer)
        self.sent += 1
        return answer

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything queued so far has run; False if that took longer than ``timeout``."""
        if self._thread is None or not self._thread.is_alive():
            return not self._queue
        done = threading.Event()
        self._queue.append((None, done))
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
        """Send what is queued for at most ``timeout`` seconds; spool the rest (when there is a spool)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        drained = self.flush(timeout)
        if drained and self.spooling and not self.stopped:
            # Everything went to the spool: let the server take it back if it answers within the time left.
            self._probe_delay, self._probe_at = PROBE_FIRST / 2, 0.0  # try now, then often
            while self.spooling and (deadline is None or time.monotonic() < deadline):
                self._wakeup.set()
                time.sleep(0.05)
        if not drained or self.spooling:
            self._abandon()
        self._closing = True
        self._wakeup.set()
        if self._thread is not None and not self._abandoned:
            self._thread.join(timeout=1)
        if self.spool is not None:
            with self._spool_lock:
                self.spool.close()

    def _abandon(self) -> None:
        """Spool the call in flight and everything queued, from this thread; the sender thread stops."""
        with self._spool_lock:
            self._abandoned = True
            rest = [self._current] if self._current is not None else []
            while self._queue:
                item, done = self._queue.popleft()
                if item is not None:
                    rest.append(item)
                if done is not None:
                    done.set()
            if self.stopped or self.spool is None:
                return
            for item in rest:
                if item.materialize():
                    self._write(item)

    # -- consumer side (the sender thread) ------------------------------------------------------------------
    def _run(self) -> None:
        while not self._abandoned:
            if self.spooling and time.monotonic() >= self._probe_at:
                self._replay()
            self._busy = True  # before popping, so ``wait_idle`` never sees an empty queue and an idle thread early
            try:
                with self._spool_lock:  # close() must find a popped call in ``_current``
                    if self._abandoned:
                        return
                    item, done = self._queue.popleft()
                    self._current = item
            except IndexError:
                self._busy = False
                if self.spool is not None and self.spooling:
                    with self._spool_lock:
                        if not self._abandoned:
                            self.spool.sync()
                if self._closing:
                    return
                self._waiting = True
                self._wakeup.clear()
                if not self._queue:
                    # The timeout covers calls appended from a signal handler, which do not set the event, and
                    # the next replay of the spool.
                    self._wakeup.wait(0.5 if not self.spooling else max(0.05, self._probe_at - time.monotonic()))
                self._waiting = False
                continue
            try:
                if item is not None and not self.stopped:
                    self._process(item)
            finally:
                self._current = None
                self._busy = False
                if done is not None:
                    done.set()

    def _process(self, item: Call) -> None:
        try:
            if not item.materialize():
                return
        except Exception as exc:  # a bug here must not break the Ansible run
            self._fail(f"unexpected error while recording: {exc!r}")
            self._failed(item)
            return
        if self.spooling:
            self._to_spool(item)
            return
        try:
            path, body = join_path(resolve(item.path)), resolve(item.body)
        except Unresolved:
            self._failed(item)
            return
        except Pending:  # needs an object still in the spool
            self._start_spooling("an earlier call is still spooled")
            self._to_spool(item)
            return
        try:
            answer = send_retrying(
                self.client,
                item.method,
                path,
                body,
                item.key,
                budget=self.retry_seconds,
                give_up=lambda: self._abandoned,
            )
        except Exception as exc:
            if retryable(exc) and self.spool is not None:
                self._start_spooling(str(exc))
                self._to_spool(item)
            elif retryable(exc):
                self._fail(f"cannot reach the server, nothing more is recorded for this run: {exc}")
                self._failed(item)
                self.stop()
            else:
                self._refused(item, exc)
            return
        self._filled(item, answer)
        self.sent += 1

    def _start_spooling(self, reason: str) -> None:
        if not self.spooling:
            self.spooling = True
            self._probe_delay = PROBE_FIRST
            self._probe_at = time.monotonic() + self._probe_delay

    def _to_spool(self, item: Call) -> None:
        with self._spool_lock:
            if self._abandoned:
                return  # close() spooled it already
            self._write(item)
            self._current = None

    def _write(self, item: Call) -> None:
        assert self.spool is not None
        try:
            if not self.spool.write(item):
                self._failed(item)  # the spool is full: the callback warns with the count
                return
        except Unresolved:
            self._failed(item)
            return
        if item.fills is not None:
            self._spooled_refs[item.fills.name] = item.fills

    def _replay(self) -> None:
        """Send the spool again from its start; on success remove it and send directly again."""
        assert self.spool is not None
        try:
            done = replay_lines(self.client, self.spool.lines(), budget=0, give_up=lambda: self._abandoned)
        except Exception:
            self._probe_delay = min(self._probe_delay * 2, PROBE_MAX)
            self._probe_at = time.monotonic() + self._probe_delay
            return
        with self._spool_lock:
            if self._abandoned:
                return  # close() appended to the file meanwhile: it stays for a later replay
            for name, object_id in done.ids.items():
                ref = self._spooled_refs.pop(name, None)
                if ref is not None:
                    ref.id = object_id
            for name in done.failed:
                ref = self._spooled_refs.pop(name, None)
                if ref is not None:
                    ref.failed = True
            self.replayed += done.sent
            self.sent += done.sent
            self.spool.discard()
            self.spooling = False

    # -- outcomes -------------------------------------------------------------------------------------------
    def _filled(self, item: Call, answer: Any) -> None:
        if item.fills is not None and isinstance(answer, dict) and "id" in answer:
            item.fills.id = answer["id"]

    def _failed(self, item: Call) -> None:
        if item.fills is not None:
            item.fills.failed = True

    def _refused(self, item: Call, exc: Exception) -> None:
        if isinstance(exc, ApiError):
            self._fail(f"the server refused a request, the run is recorded partially: {exc}")
        else:
            self._fail(f"unexpected error while recording: {exc!r}")
        self._failed(item)

    def _fail(self, message: str) -> None:
        if self.error is None:
            self.error = message
