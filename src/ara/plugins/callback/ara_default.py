"""Ara's Ansible callback: records playbooks, plays, tasks, hosts, results and files through the records API.

It records what ARA 1.8's ``ara_default`` callback records, with its options, but never makes Ansible wait on the
server except where a forked worker depends on it: the playbook and each play are created synchronously (the
``ara_record``/``ara_playbook`` actions look the playbook up by play uuid), and playbook name/labels are patched
synchronously for the same reason. Everything else goes through ``ara.plugins.sender.Sender``, one ordered queue
drained by one thread; its docstring says what happens when the server fails. ``ARA_CALLBACK_THREADS`` is accepted
for compatibility: order matters, so there is always exactly one sender thread.

Deliberate differences from ARA 1.8: results of a looped, delegated task list the hosts delegated to *by that
host's* items (ARA lists every host's items); labels of every play are kept (ARA keeps the last play's).
"""

from __future__ import annotations

import atexit
import datetime
import getpass
import json
import logging
import os
import re
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ansible import __version__ as ANSIBLE_VERSION
from ansible import constants as C
from ansible.parsing.ajson import AnsibleJSONEncoder
from ansible.plugins.callback import CallbackBase
from ansible.vars.clean import strip_internal_keys

import ara
from ara.clients.base import AraClient
from ara.clients.calls import Call, Ref, call
from ara.clients.settings import SpoolSettings
from ara.clients.spool import SpoolWriter, replay_directory
from ara.plugins import redaction, shared
from ara.plugins.sender import Sender

DOCUMENTATION = """
name: ara_default
callback_type: notification
requirements:
  - ara
short_description: Sends playbook execution data to the Ara API internally or over HTTP
description:
  - Sends playbook execution data to the Ara API internally or over HTTP, without making Ansible wait on it
options:
  api_client:
    description: The client to use for communicating with the API
    default: offline
    env:
      - name: ARA_API_CLIENT
    ini:
      - section: ara
        key: api_client
    choices: ['offline', 'http']
  api_server:
    description: When using the HTTP client, the base URL to the ARA API server
    default: http://127.0.0.1:8000
    env:
      - name: ARA_API_SERVER
    ini:
      - section: ara
        key: api_server
  api_username:
    description: If authentication is required, the username to authenticate with
    default: null
    env:
      - name: ARA_API_USERNAME
    ini:
      - section: ara
        key: api_username
  api_password:
    description: If authentication is required, the password to authenticate with
    default: null
    env:
      - name: ARA_API_PASSWORD
    ini:
      - section: ara
        key: api_password
  api_cert:
    description: If a client certificate is required, the path to the certificate to use.
    default: null
    env:
      - name: ARA_API_CERT
    ini:
      - section: ara
        key: api_cert
  api_key:
    description: If a client certificate is required, the path to the private key to use.
    default: null
    env:
      - name: ARA_API_KEY
    ini:
      - section: ara
        key: api_key
  api_ca:
    description: The path to a CA bundle.
    default: null
    env:
      - name: ARA_API_CA
    ini:
      - section: ara
        key: api_ca
  api_insecure:
    description: Can be enabled to ignore SSL certification of the API server
    type: bool
    default: false
    env:
      - name: ARA_API_INSECURE
    ini:
      - section: ara
        key: api_insecure
  api_timeout:
    description: Timeout, in seconds, before giving up on HTTP requests
    type: integer
    default: 30
    env:
      - name: ARA_API_TIMEOUT
    ini:
      - section: ara
        key: api_timeout
  api_retry_seconds:
    description:
      - How long, in seconds, a call the server cannot take (refused, reset, time-out, 5xx) is retried with backoff
        before it is written to the spool
    type: float
    default: 5
    env:
      - name: ARA_API_RETRY_SECONDS
    ini:
      - section: ara
        key: api_retry_seconds
  spool_enabled:
    description:
      - With the http client, calls the server cannot take are written to an on-disk spool and replayed in order
        when it answers again (by this run, the next run's callback or C(ara spool replay))
      - When disabled, recording stops at the first call the server cannot take
    type: bool
    default: true
    env:
      - name: ARA_SPOOL_ENABLED
    ini:
      - section: ara
        key: spool_enabled
  spool_dir:
    description: The directory of spool files, one per playbook run
    default: ~/.ara/spool
    type: path
    env:
      - name: ARA_SPOOL_DIR
    ini:
      - section: ara
        key: spool_dir
  spool_max_size:
    description:
      - The largest a playbook run's spool file may grow, in MiB; calls that do not fit are lost (with a warning)
    type: float
    default: 256
    env:
      - name: ARA_SPOOL_MAX_SIZE
    ini:
      - section: ara
        key: spool_max_size
  end_timeout:
    description:
      - The longest, in seconds, Ansible waits at the end of a run for calls still queued; what is left is spooled
      - Applies with a spool (the http client); the offline client sends everything before Ansible exits
    type: float
    default: 30
    env:
      - name: ARA_END_TIMEOUT
    ini:
      - section: ara
        key: end_timeout
  argument_labels:
    description: |
        A list of CLI arguments that, if set, will be automatically applied to playbooks as labels.
        Note that CLI arguments are not always named the same as how they are represented by Ansible.
        For example, --limit is "subset", --user is "remote_user" but --check is "check".
    type: list
    default:
      - remote_user
      - check
      - tags
      - skip_tags
      - subset
    env:
      - name: ARA_ARGUMENT_LABELS
    ini:
      - section: ara
        key: argument_labels
  callback_threads:
    description:
      - Accepted for compatibility with ARA; Ara always sends from one background thread, in order
    type: integer
    default: 0
    env:
      - name: ARA_CALLBACK_THREADS
    ini:
      - section: ara
        key: callback_threads
  default_labels:
    description: A list of default labels that will be applied to playbooks
    type: list
    default: []
    env:
      - name: ARA_DEFAULT_LABELS
    ini:
      - section: ara
        key: default_labels
  ignored_facts:
    description:
      - List of host facts that will not be saved by ARA
      - Every fact can be ignored by specifying 'all'
    type: list
    default: ["ansible_env"]
    env:
      - name: ARA_IGNORED_FACTS
    ini:
      - section: ara
        key: ignored_facts
  ignored_arguments:
    description: List of Ansible arguments that will not be saved by ARA
    type: list
    default: ["extra_vars"]
    env:
      - name: ARA_IGNORED_ARGUMENTS
    ini:
      - section: ara
        key: ignored_arguments
  ignored_files:
    description:
      - List of file path patterns that will not be saved by ARA
      - Entries are matched as substrings by default
      - Values prefixed with 'regex:' are treated as Python regular expressions and matched with re.search
      - Note that the default pattern ('.ansible/tmp') gets dynamically set to the value of ANSIBLE_LOCAL_TEMP
    type: list
    default: [".ansible/tmp"]
    env:
      - name: ARA_IGNORED_FILES
    ini:
      - section: ara
        key: ignored_files
  localhost_as_hostname:
    description:
        - Associates results to the hostname (or fqdn) instead of localhost when the inventory name is localhost
    type: boolean
    default: false
    env:
      - name: ARA_LOCALHOST_AS_HOSTNAME
    ini:
      - section: ara
        key: localhost_as_hostname
  localhost_as_hostname_format:
    description:
      - The format to use when recording the hostname for localhost
      - This is used when recording the controller hostname or when ARA_LOCALHOST_AS_HOSTNAME is true
    default: fqdn
    env:
      - name: ARA_LOCALHOST_AS_HOSTNAME_FORMAT
    ini:
      - section: ara
        key: localhost_as_hostname_format
    choices: ['fqdn', 'fqdn_short', 'hostname', 'hostname_short']
  record_controller:
    description:
      - Whether ara should record the controller hostname on which the playbook ran
    type: boolean
    default: true
    env:
      - name: ARA_RECORD_CONTROLLER
    ini:
      - section: ara
        key: record_controller
  record_controller_name:
    description:
      - The name to use when recording the controller hostname.
      - Defaults to the system hostname.
    type: string
    env:
      - name: ARA_RECORD_CONTROLLER_NAME
    ini:
      - section: ara
        key: record_controller_name
  record_user:
    description:
      - Whether ara should record the user that ran a playbook
    type: boolean
    default: true
    env:
      - name: ARA_RECORD_USER
    ini:
      - section: ara
        key: record_user
  record_user_name:
    description:
      - The name to use when recording the user that ran a playbook.
      - Defaults to the OS user which ran the playbook.
    type: string
    env:
      - name: ARA_RECORD_USER_NAME
    ini:
      - section: ara
        key: record_user_name
  record_task_content:
    description:
      - Whether ara should record the content of a task
    type: boolean
    default: true
    env:
      - name: ARA_RECORD_TASK_CONTENT
    ini:
      - section: ara
        key: record_task_content
"""

# Task actions whose results carry the host's facts.
ANSIBLE_SETUP_MODULES = frozenset(
    (
        "setup",
        "ansible.builtin.setup",
        "ansible.legacy.setup",
        "gather_facts",
        "ansible.builtin.gather_facts",
        "ansible.legacy.gather_facts",
    )
)
IGNORED_FACT = "Not saved by ARA as configured by 'ignored_facts'"
IGNORED_ARGUMENT = "Not saved by ARA as configured by 'ignored_arguments'"
IGNORED_FILE = "Not saved by ARA as configured by 'ignored_files'"
UNREADABLE_FILE = "ARA was not able to read this file successfully."
# Names longer than this are cut to 254 characters, as ARA does (its columns hold 255).
MAX_NAME = 255

log = logging.getLogger("ara.plugins.callback.default")


def now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat()


def truncate(name: str) -> str:
    return name[: MAX_NAME - 1] if len(name) >= MAX_NAME else name


def result_data(result: Any) -> Any:
    """The callback's own copy of a task result (``result`` on ansible-core >= 2.19, ``_result`` before)."""
    data = getattr(result, "result", None)
    return data if isinstance(data, dict) else result._result


def cleaned_content(data: dict[str, Any], ignored_facts: list[str]) -> dict[str, Any]:
    """What is stored for a result: no internal keys, plain JSON with sorted keys, ignored facts censored.

    Runs on the sender thread; ``data`` is this callback's private copy (Ansible hands each callback its own).
    """
    strip_internal_keys(data)
    try:
        text = json.dumps(data, cls=AnsibleJSONEncoder, ensure_ascii=False, sort_keys=True)
    except TypeError:  # keys of mixed types cannot be sorted
        text = json.dumps(data, cls=AnsibleJSONEncoder, ensure_ascii=False)
    content: dict[str, Any] = json.loads(text)
    facts = content.get("ansible_facts")
    if isinstance(facts, dict):
        if "all" in ignored_facts:
            content["ansible_facts"] = {"all": IGNORED_FACT}
        else:
            for fact in ignored_facts:
                if fact in facts:
                    facts[fact] = IGNORED_FACT
    return content


def jsonable(value: Any) -> Any:
    """Ansible's CLI arguments as plain JSON types (tuples become lists, anything unknown its text)."""
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(item) for item in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return str(value)


def unique(items: list[Any]) -> list[Any]:
    seen: set[str] = set()
    out = []
    for item in items:
        key = json.dumps(item, sort_keys=True, default=str)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


class TaskState:
    """A recorded task: its id (once created), whether a host failed it, what its results reported."""

    __slots__ = ("ref", "started", "failed", "failure_sent", "warnings", "deprecations", "exceptions")

    def __init__(self, started: str) -> None:
        self.ref = Ref()
        self.started = started
        self.failed = False
        self.failure_sent = False
        # Filled on the sender thread as results are sent, read by the task's final PATCH after them.
        self.warnings: list[Any] = []
        self.deprecations: list[Any] = []
        self.exceptions: list[Any] = []


class CallbackModule(CallbackBase):
    """Records an Ansible run with Ara."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "ara_default"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.client: AraClient | None = None
        self.sender: Sender | None = None
        self.spool_settings: SpoolSettings | None = None
        self.end_timeout = 30.0
        self.replayer: threading.Thread | None = None
        self.started = False  # the playbook's creation was sent or queued
        self.playbook_path = ""
        self.playbook_name: str | None = None
        self.playbook_labels: list[str] = []
        self.playbook_ref = Ref()
        self.play_ref: Ref | None = None
        self.task: TaskState | None = None
        self.tasks: dict[str, TaskState] = {}
        self.hosts: dict[str, Ref] = {}
        self.files: dict[str, Ref] = {}
        self.result_started: dict[str, str] = {}
        self.delegated: dict[tuple[str, str], list[str]] = {}
        self.argument_labels: list[str] = []
        self.localhost_hostname: str | None = None
        self.ignored_file_patterns: list[tuple[str, Callable[[str], bool]]] = []
        self.warned = False
        self.ended = False
        self._pid = os.getpid()
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._chain_signal(sig)

    # -- options ------------------------------------------------------------------------------------------
    def set_options(self, task_keys: Any = None, var_options: Any = None, direct: Any = None) -> None:
        super().set_options(task_keys=task_keys, var_options=var_options, direct=direct)
        self.default_labels = list(self.get_option("default_labels") or [])
        self.argument_label_names = list(self.get_option("argument_labels") or [])
        self.ignored_facts = list(self.get_option("ignored_facts") or [])
        self.ignored_arguments = list(self.get_option("ignored_arguments") or [])
        self.localhost_as_hostname = self.get_option("localhost_as_hostname")
        self.localhost_as_hostname_format = self.get_option("localhost_as_hostname_format")
        self.record_controller = self.get_option("record_controller")
        self.record_controller_name = self.get_option("record_controller_name")
        self.record_user = self.get_option("record_user")
        self.record_user_name = self.get_option("record_user_name")
        self.record_task_content = self.get_option("record_task_content")
        self.callback_threads = self.get_option("callback_threads")

        # The default '.ansible/tmp' stands for wherever Ansible's local temporary files really are.
        ignored_files = [
            os.path.dirname(C.DEFAULT_LOCAL_TMP) if pattern == ".ansible/tmp" else pattern
            for pattern in self.get_option("ignored_files") or []
        ]
        self.ignored_file_patterns = []
        for pattern in ignored_files:
            if pattern.startswith("regex:"):
                try:
                    search = re.compile(pattern[len("regex:") :]).search
                    self.ignored_file_patterns.append((pattern, lambda path, search=search: search(path) is not None))
                except re.error as exc:
                    self._display.warning(f"ara: invalid regex in ignored_files ({pattern}): {exc}")
            else:
                self.ignored_file_patterns.append((pattern, _substring(pattern)))

        if self.client is not None:  # options may be set again; the run keeps the client it started with
            return
        try:
            self.client = shared.build_client(
                api_client=self.get_option("api_client"),
                api_server=self.get_option("api_server"),
                api_timeout=self.get_option("api_timeout"),
                api_username=self.get_option("api_username"),
                api_password=self.get_option("api_password"),
                api_cert=self.get_option("api_cert"),
                api_key=self.get_option("api_key"),
                api_ca=self.get_option("api_ca"),
                api_insecure=self.get_option("api_insecure"),
                # Offline, the API runs in a child process: Ansible's own process (the strategy loop that forks
                # a worker per task and host) only writes to a pipe, and never forks inside a transaction.
                isolate=True,
            )
            spool = self._spool_settings()
        except Exception as exc:
            self._warn(f"cannot set up the API client, this run is not recorded: {exc}")
            self.client = None
            return
        self.end_timeout = float(self.get_option("end_timeout"))
        writer = None
        if spool is not None:
            writer = SpoolWriter(spool.dir, self.client.endpoint, spool.max_bytes, scrub=redaction.scrubber())
            self._replay_older_spools(spool.dir)
        self.sender = Sender(self.client, spool=writer, retry_seconds=float(self.get_option("api_retry_seconds")))
        shared.set_active_client(self.client)
        atexit.register(self._at_exit)

    def _spool_settings(self) -> SpoolSettings | None:
        """The spool applies to the http client (offline, there is no server to wait for)."""
        if self.get_option("api_client") != "http" or not self.get_option("spool_enabled"):
            return None
        self.spool_settings = SpoolSettings(
            enabled=True,
            dir=Path(os.path.expanduser(str(self.get_option("spool_dir")))),
            max_size=float(self.get_option("spool_max_size")),
        )
        return self.spool_settings

    def _replay_older_spools(self, directory: Path) -> None:
        """Runs that ended while the server was down left spool files: send them in the background (Ansible never
        waits for this, except within ``end_timeout`` at the end of the run)."""
        client = self.client
        assert client is not None
        if not directory.is_dir() or not any(directory.glob("*.jsonl")):
            return

        def replay() -> None:
            try:
                replay_directory(client, directory, budget=1)
            except Exception as exc:
                log.debug("older spool files not replayed yet: %s", exc)

        self.replayer = threading.Thread(target=replay, name="ara-spool-replay", daemon=True)
        self.replayer.start()

    def _ignored_file(self, path: str) -> str | None:
        for raw, matches in self.ignored_file_patterns:
            if matches(path):
                return raw
        return None

    # -- reporting ------------------------------------------------------------------------------------------
    def _warn(self, message: str) -> None:
        if not self.warned:
            self.warned = True
            self._display.warning(f"ara: {message}")

    def _report(self) -> None:
        if self.sender is not None and self.sender.error is not None and not self.warned:
            self._warn(self.sender.error)

    @property
    def recording(self) -> bool:
        return self.sender is not None and self.started and not self.sender.stopped and not self.playbook_ref.failed

    def _now(self, item: Call) -> Any:
        """A call Ansible waits for while the server answers; ``None`` if it was queued or failed."""
        assert self.sender is not None
        answer = self.sender.call_now(item)
        self._report()
        return answer

    # -- playbook -----------------------------------------------------------------------------------------
    def v2_playbook_on_start(self, playbook: Any) -> None:
        if self.sender is None:
            return
        from ansible import context

        cli_options = dict(context.CLIARGS)
        self.localhost_hostname = self._localhost_hostname()
        content = None
        if playbook._file_name == "__adhoc_playbook__":
            content = str(cli_options.get("module_name"))
            if cli_options.get("module_args"):
                content = f"{content}: {cli_options['module_args']}"
            path = f"Ad-Hoc: {content}"
        else:
            path = os.path.abspath(playbook._file_name)

        for argument in self.ignored_arguments:
            if argument in cli_options:
                cli_options[argument] = IGNORED_ARGUMENT

        self.argument_labels = []
        for name in self.argument_label_names:
            value = cli_options.get(name)
            if isinstance(value, list | tuple):
                if value:
                    self.argument_labels.append(f"{name}:{','.join(str(v) for v in value)}")
            elif isinstance(value, bool):
                self.argument_labels.append(f"{name}:{value}")
            elif value:
                self.argument_labels.append(f"{name}:{value}")

        body = {
            "ansible_version": ANSIBLE_VERSION,
            "client_version": ara.__version__,
            "python_version": "{}.{}.{}".format(*sys.version_info[:3]),
            "arguments": jsonable(cli_options),
            "status": "running",
            "path": path,
            "controller": self.localhost_hostname,
            "user": self._user(),
            "started": now(),
        }
        self.started = True
        self.playbook_path = path
        self._now(call("POST", "/api/v1/playbooks", body=body, fills=self.playbook_ref))
        if self.playbook_ref.failed:  # refused: nothing of this run can be recorded
            self.sender.stop()
            return
        self._file(path, content)

    def v2_playbook_on_play_start(self, play: Any) -> None:
        if not self.recording:
            return
        self._report()
        self._end_play()

        play_vars = play._variable_manager.get_vars(play=play).get("vars", {})
        if "ara_playbook_name" in play_vars:
            name = truncate(str(play_vars["ara_playbook_name"]))
            if self.playbook_name != name:
                self.playbook_name = name
                self._patch_playbook(name=name)

        labels = self.default_labels + self.argument_labels
        if "ara_playbook_labels" in play_vars:
            extra = play_vars["ara_playbook_labels"]
            if isinstance(extra, str):
                labels.extend(extra.split(","))
            elif isinstance(extra, list):
                labels.extend(str(label) for label in extra)
            else:
                self._display.warning("ara: ara_playbook_labels must be a list or a comma-separated string")
        if labels:
            # Labels accumulate over plays (ARA replaces them with each play's, dropping earlier plays' labels).
            current = self.playbook_labels
            wanted = list(dict.fromkeys(current + [truncate(label) for label in labels]))
            if set(current) != set(wanted):
                self.playbook_labels = wanted
                self._patch_playbook(labels=wanted)

        # Every file Ansible loaded so far, except the ignored ones (the cache holds unrelated files too).
        for path in list(play._loader._FILE_CACHE.keys()):
            if self._ignored_file(path) is None:
                self._file(path)

        body = {
            "name": truncate(play.name if play.name is not None else play.get_name()),
            "status": "running",
            # ansible-runner suffixes play uuids when running in serial ("<uuid>_2"); keep the standard 36.
            "uuid": str(play._uuid)[:36],
            "playbook": self.playbook_ref,
            "started": now(),
        }
        self.play_ref = Ref()
        self._now(call("POST", "/api/v1/plays", body=body, fills=self.play_ref))

    def _patch_playbook(self, **fields: Any) -> None:
        """Sent at once while the server answers (a forked worker may look the playbook up), else queued."""
        self._now(call("PATCH", "/api/v1/playbooks/", self.playbook_ref, body=fields))

    def v2_playbook_on_handler_task_start(self, task: Any) -> None:
        self.v2_playbook_on_task_start(task, False, handler=True)

    def v2_playbook_on_task_start(self, task: Any, is_conditional: Any, handler: bool = False) -> None:
        if not self.recording:
            return
        self._report()
        self._end_task()
        self.task = self._task(task, handler)

    def _task(self, task: Any, handler: bool = False) -> TaskState:
        """The recorded task of an Ansible task, created (queued) the first time it is seen."""
        uuid = str(task._uuid)[:36]
        state = self.tasks.get(uuid)
        if state is not None:
            return state
        assert self.sender is not None
        pathspec = task.get_path()
        if pathspec:
            path, _, line = pathspec.rpartition(":")
            lineno = int(line) if line.isdigit() else 1
        else:
            path, lineno = self.playbook_path, 1
        file_ref = self._file(path)
        state = self.tasks[uuid] = TaskState(now())
        play_ref = self.play_ref or Ref()
        body = {
            "name": task.get_name(),
            "uuid": uuid,
            "status": "running",
            "action": task.action,
            "playbook": self.playbook_ref,
            "play": play_ref,
            "file": file_ref,
            "tags": list(task.tags or []),
            "lineno": lineno,
            "handler": handler,
            "started": state.started,
        }
        self.sender.submit(call("POST", "/api/v1/tasks", body=body, fills=state.ref))
        return state

    def _end_task(self) -> None:
        state, self.task = self.task, None
        if state is None or self.sender is None:
            return
        status = "failed" if state.failed else "completed"
        ended = now()

        def end() -> dict[str, Any]:  # built on the sender thread, after the task's results were
            return {
                "status": status,
                "ended": ended,
                "warnings": unique(state.warnings),
                "deprecations": unique(state.deprecations),
                "exceptions": unique(state.exceptions),
            }

        self.sender.submit(call("PATCH", "/api/v1/tasks/", state.ref, body=end))

    def _end_play(self) -> None:
        ref, self.play_ref = self.play_ref, None
        if ref is None or self.sender is None:
            return
        self.sender.submit(call("PATCH", "/api/v1/plays/", ref, body={"status": "completed", "ended": now()}))

    # -- results ------------------------------------------------------------------------------------------
    def v2_runner_on_start(self, host: Any, task: Any) -> None:
        self.result_started[host.get_name()] = now()

    def v2_runner_on_ok(self, result: Any, **kwargs: Any) -> None:
        self._result(result, "ok", kwargs.get("ignore_errors"))

    def v2_runner_on_failed(self, result: Any, ignore_errors: bool = False, **kwargs: Any) -> None:
        self._result(result, "failed", ignore_errors)

    def v2_runner_on_unreachable(self, result: Any, **kwargs: Any) -> None:
        self._result(result, "unreachable", kwargs.get("ignore_errors"))

    def v2_runner_on_skipped(self, result: Any, **kwargs: Any) -> None:
        self._result(result, "skipped", kwargs.get("ignore_errors"))

    def v2_runner_item_on_ok(self, result: Any) -> None:
        self._remember_delegation(result)

    def v2_runner_item_on_failed(self, result: Any) -> None:
        self._remember_delegation(result)

    # Skipped items are left out: their delegate_to may still be an untemplated variable (ansible#75339).

    def _remember_delegation(self, result: Any) -> None:
        # On the per-result hooks delegate_to can still be the variable of a loop; the item hooks have its value.
        delegate_to = result._task.delegate_to
        if delegate_to and self.recording:
            key = (str(result._task._uuid)[:36], result._host.get_name())
            self.delegated.setdefault(key, []).append(str(delegate_to))

    def _host(self, name: str) -> Ref:
        if self.localhost_as_hostname and name in ("localhost", "127.0.0.1") and self.localhost_hostname:
            name = self.localhost_hostname
        name = truncate(name)
        ref = self.hosts.get(name)
        if ref is None:
            assert self.sender is not None
            ref = self.hosts[name] = Ref()
            body = {"name": name, "playbook": self.playbook_ref}
            self.sender.submit(call("POST", "/api/v1/hosts", body=body, fills=ref))
        return ref

    def _file(self, path: str, content: str | None = None) -> Ref:
        ref = self.files.get(path)
        if ref is None:
            assert self.sender is not None
            ref = self.files[path] = Ref()
            playbook_ref = self.playbook_ref
            ignored = self._ignored_file(path) is not None

            def body() -> dict[str, Any]:  # read on the sender thread
                text = IGNORED_FILE if ignored else content
                if text is None:
                    try:
                        with open(path, encoding="utf-8", errors="replace") as handle:
                            text = handle.read()
                    except OSError as exc:
                        log.error("Unable to open %s for reading: %s", path, exc)
                        text = UNREADABLE_FILE
                return {"playbook": playbook_ref, "path": path, "content": text}

            self.sender.submit(call("POST", "/api/v1/files", body=body, fills=ref))
        return ref

    def _result(self, result: Any, status: str, ignore_errors: Any) -> None:
        if not self.recording:
            return
        assert self.sender is not None
        ended = now()
        task = result._task
        hostname = result._host.get_name()
        host_ref = self._host(hostname)
        state = self.tasks.get(str(task._uuid)[:36]) or self._task(task)
        if status in ("failed", "unreachable") and not ignore_errors:
            # The task failed even if a rescue follows: at least one host failed it without ignore_errors.
            state.failed = True
            if not state.failure_sent:
                state.failure_sent = True
                self.sender.submit(call("PATCH", "/api/v1/tasks/", state.ref, body={"status": "failed"}))

        delegated: list[Ref] = []
        # delegate_to is not templated when the task was skipped (ansible#75339).
        if task.delegate_to and status != "skipped":
            names = self.delegated.pop((str(task._uuid)[:36], hostname), None) or [str(task.delegate_to)]
            delegated = [self._host(name) for name in dict.fromkeys(names)]

        data = result_data(result)
        changed = bool(data.get("changed", False))
        is_setup = task.action in ANSIBLE_SETUP_MODULES
        started = self.result_started.get(hostname) or state.started
        play_ref = self.play_ref or Ref()
        playbook_ref = self.playbook_ref
        record_content = self.record_task_content
        ignored_facts = self.ignored_facts
        facts: dict[str, Any] = {}

        def body() -> dict[str, Any]:  # built on the sender thread: cleaning a large result takes time
            content = cleaned_content(data, ignored_facts) if record_content else {}
            if is_setup and isinstance(content.get("ansible_facts"), dict):
                facts["facts"] = content["ansible_facts"]
            # Ansible's field is "exception"; ARA stores a list of them.
            if "deprecations" in content and isinstance(content["deprecations"], list):
                state.deprecations.extend(content["deprecations"])
            if "exception" in content:
                state.exceptions.append(content["exception"])
            if isinstance(content.get("warnings"), list):
                state.warnings.extend(content["warnings"])
            return {
                "playbook": playbook_ref,
                "play": play_ref,
                "task": state.ref,
                "host": host_ref,
                "delegated_to": list(delegated),
                "content": content,
                "status": status,
                "started": started,
                "ended": ended,
                "changed": changed,
                "ignore_errors": bool(ignore_errors),
            }

        self.sender.submit(call("POST", "/api/v1/results", body=body))
        if is_setup:
            # Sent only when the result had facts (the builder above runs first, on the sender thread).
            self.sender.submit(call("PATCH", "/api/v1/hosts/", host_ref, body=lambda: facts or None))

    # -- end ----------------------------------------------------------------------------------------------
    def v2_playbook_on_stats(self, stats: Any) -> None:
        if not self.recording:
            self._finish()
            return
        assert self.sender is not None
        self._end_task()
        self._end_play()
        for hostname in sorted(stats.processed.keys()):
            ref = self._host(hostname)
            summary = stats.summarize(hostname)
            counters = {
                "changed": summary["changed"],
                "unreachable": summary["unreachable"],
                "failed": summary["failures"],
                "ok": summary["ok"],
                "skipped": summary["skipped"],
            }
            self.sender.submit(call("PATCH", "/api/v1/hosts/", ref, body=counters))
        status = "failed" if stats.failures or stats.dark else "completed"
        # Queued behind everything else, so the playbook is complete only once all of it was recorded.
        final = {"status": status, "ended": now()}
        self.sender.submit(call("PATCH", "/api/v1/playbooks/", self.playbook_ref, body=final))
        self.ended = True
        self._finish()

    def _finish(self) -> None:
        deadline = time.monotonic() + self.end_timeout
        if self.sender is not None:
            # Without a spool (offline) nothing could keep what is left: wait for all of it, as ARA does.
            self.sender.close(timeout=self.end_timeout if self.sender.spool is not None else None)
        if self.replayer is not None:
            self.replayer.join(timeout=max(0.0, deadline - time.monotonic()))
        self._report()
        self._report_spool()

    def _report_spool(self) -> None:
        """Say where what was not sent waits, and what did not fit (Ansible's thread, once at the end)."""
        spool = self.sender.spool if self.sender is not None else None
        if spool is None:
            return
        if spool.dropped:
            self._display.warning(
                f"ara: the spool is full ({spool.max_bytes // (1024 * 1024)} MiB, ARA_SPOOL_MAX_SIZE): "
                f"{spool.dropped} calls of this run were lost"
            )
        if spool.path is not None and spool.path.exists():
            self._display.warning(
                f"ara: the server did not take everything; {spool.written} calls wait in {spool.path} and will be "
                "sent by the next run or by 'ara spool replay'"
            )

    def _at_exit(self) -> None:
        """Ansible stopped without reaching the stats (a fatal error): still send what is queued."""
        if os.getpid() == self._pid and self.sender is not None and not self.ended:
            self.sender.close(timeout=self.end_timeout if self.sender.spool is not None else 30)

    def _chain_signal(self, sig: int) -> None:
        """Marks the playbook expired on SIGINT/SIGTERM, then lets Ansible handle the signal as it would."""
        original = signal.getsignal(sig)

        def handler(signum: int, frame: Any) -> None:
            if os.getpid() == self._pid:
                self._expire()
            if callable(original):
                original(signum, frame)
            else:
                sys.exit(128 + signum)

        signal.signal(sig, handler)

    def _expire(self) -> None:
        sender = self.sender
        if sender is None or not self.started or self.ended or sender.stopped:
            return
        self.ended = True
        # Send what is already queued (briefly), then stop the queue and mark the playbook from this thread.
        sender.wait_idle(timeout=10)
        sender.stop()
        if self.playbook_ref.id is None:
            return
        try:
            sender.client.patch(f"/api/v1/playbooks/{self.playbook_ref.id}", status="expired", ended=now())
        except Exception as exc:
            log.debug("could not mark the playbook expired: %s", exc)

    # -- controller and user ------------------------------------------------------------------------------
    def _localhost_hostname(self) -> str | None:
        if not self.record_controller:
            return None
        if self.record_controller_name:
            return str(self.record_controller_name)
        fmt = self.localhost_as_hostname_format or "fqdn"
        hostname = socket.getfqdn() if fmt.startswith("fqdn") else socket.gethostname()
        return hostname.split(".")[0] if fmt.endswith("_short") else hostname

    def _user(self) -> str | None:
        if not self.record_user:
            return None
        if self.record_user_name:
            return str(self.record_user_name)
        try:
            return getpass.getuser()
        except Exception:
            log.warning("Unable to retrieve the user that is running the playbook")
            return None


def _substring(pattern: str) -> Callable[[str], bool]:
    return lambda path: pattern in path
