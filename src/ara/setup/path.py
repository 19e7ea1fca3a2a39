"""``python3 -m ara.setup.path`` prints ``ara.setup.path``."""

from __future__ import annotations

from ara.setup import path

if __name__ == "__main__":
    print(path)
