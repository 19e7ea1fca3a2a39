"""The public Ara SDK (installs and imports without ara)."""
