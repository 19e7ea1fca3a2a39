"""Where Ara's Ansible plugins are installed, for ``ansible.cfg`` and the environment (as ARA's ``ara.setup``).

``python3 -m ara.setup.callback_plugins`` prints the callback folder; ``action_plugins``, ``lookup_plugins``,
``plugins`` and ``path`` print theirs, ``env`` prints shell exports and ``ansible`` an ``ansible.cfg`` snippet.
"""

from __future__ import annotations

import os

import ara

ara_version = ara.__version__

# The folder the ``ara`` package is installed in, and the plugin folders inside it.
path = os.path.abspath(os.path.dirname(os.path.dirname(__file__)))
plugins = os.path.join(path, "plugins")
action_plugins = os.path.join(plugins, "action")
callback_plugins = os.path.join(plugins, "callback")
lookup_plugins = os.path.join(plugins, "lookup")
