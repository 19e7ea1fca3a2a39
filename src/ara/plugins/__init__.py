"""Ansible plugins: the ``ara_default`` callback, the ``ara_record``/``ara_playbook``/``ara_label`` actions and the
``ara_api`` lookup. Ansible loads the files under ``callback/``, ``action/`` and ``lookup/`` by path (see
``python3 -m ara.setup.env``); the modules here are their shared helpers. They reach the server only through
``ara.clients``."""
