"""``python3 -m ara.setup.env`` prints shell exports that add Ara's plugins to Ansible's search paths.

Inside a virtualenv it also exports ``PYTHONPATH`` with the virtualenv's site-packages, so an Ansible installed
outside the virtualenv can still import ``ara``.
"""

from __future__ import annotations

import os
import sysconfig

from ara.setup import action_plugins, callback_plugins, lookup_plugins


def _append(variable: str, value: str) -> str:
    return f"export {variable}=${{{variable}:-}}${{{variable}+:}}{value}\n"


exports = (
    "\n"
    + _append("ANSIBLE_CALLBACK_PLUGINS", callback_plugins)
    + _append("ANSIBLE_ACTION_PLUGINS", action_plugins)
    + _append("ANSIBLE_LOOKUP_PLUGINS", lookup_plugins)
)

if "VIRTUAL_ENV" in os.environ:
    lib = sysconfig.get_path("purelib")
    python_paths = os.environ["PYTHONPATH"].split(os.pathsep) if "PYTHONPATH" in os.environ else []
    if lib not in python_paths:
        python_paths.append(lib)
        exports += _append("PYTHONPATH", os.pathsep.join(python_paths))

if __name__ == "__main__":
    print(exports.strip())
