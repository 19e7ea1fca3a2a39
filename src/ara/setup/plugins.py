"""``python3 -m ara.setup.plugins`` prints ``ara.setup.plugins``."""

from __future__ import annotations

from ara.setup import plugins

if __name__ == "__main__":
    print(plugins)
