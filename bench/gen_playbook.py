#!/usr/bin/env python3
"""Writes a synthetic Ansible workload: an inventory of N local hosts and a playbook of M tasks per play.

Usage: gen_playbook.py OUTDIR HOSTS TASKS [FAIL_EVERY]
Every task runs on every host over the local connection, so results = HOSTS * TASKS.
A task whose index is a multiple of FAIL_EVERY fails on one host (ignore_errors keeps the run going).

A copy of the shared workload generator (../shared/bench/gen_playbook.py), kept here so bench/ is self-contained.
"""

import pathlib
import sys

out, hosts, tasks = pathlib.Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
fail_every = int(sys.argv[4]) if len(sys.argv) > 4 else 0
out.mkdir(parents=True, exist_ok=True)
inv = ["[bench]"] + [
    f"h{i:04d} ansible_connection=local ansible_python_interpreter={sys.executable}" for i in range(hosts)
]
(out / "hosts.ini").write_text("\n".join(inv) + "\n")
lines = ["- name: synthetic workload", "  hosts: bench", "  gather_facts: false", "  tasks:"]
for t in range(tasks):
    kind = t % 3
    lines.append(f"    - name: task {t}")
    if fail_every and t and t % fail_every == 0:
        lines += ["      command: /bin/false", "      when: inventory_hostname == 'h0000'", "      ignore_errors: true"]
    elif kind == 0:
        lines += ["      debug:", f"        msg: 'step {t} on {{{{ inventory_hostname }}}}'"]
    elif kind == 1:
        lines += ["      set_fact:", f"        fact_{t}: '{{{{ inventory_hostname }}}}-{t}'"]
    else:
        lines += ["      command: /bin/true", "      changed_when: false"]
(out / "site.yml").write_text("\n".join(lines) + "\n")
print(out / "site.yml")
