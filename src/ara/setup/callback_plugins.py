"""``python3 -m ara.setup.callback_plugins`` prints ``ara.setup.callback_plugins``."""

from __future__ import annotations

from ara.setup import callback_plugins

if __name__ == "__main__":
    print(callback_plugins)
