"""Records: what ran (playbook -> play -> task -> result <- host), ARA-compatible."""
