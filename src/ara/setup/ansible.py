"""``python3 -m ara.setup.ansible`` prints an ``ansible.cfg`` ``[defaults]`` section enabling Ara's plugins."""

from __future__ import annotations

from ara.setup import action_plugins, callback_plugins, lookup_plugins

config = f"""
[defaults]
callback_plugins={callback_plugins}
action_plugins={action_plugins}
lookup_plugins={lookup_plugins}
"""

if __name__ == "__main__":
    print(config.strip())
