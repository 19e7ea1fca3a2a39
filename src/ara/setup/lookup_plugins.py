"""``python3 -m ara.setup.lookup_plugins`` prints ``ara.setup.lookup_plugins``."""

from __future__ import annotations

from ara.setup import lookup_plugins

if __name__ == "__main__":
    print(lookup_plugins)
