"""``python3 -m ara.setup.action_plugins`` prints ``ara.setup.action_plugins``."""

from __future__ import annotations

from ara.setup import action_plugins

if __name__ == "__main__":
    print(action_plugins)
