"""Users and API tokens: who may read and write through the API."""
