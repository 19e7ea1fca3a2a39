"""Apps: deployed ``ara_sdk`` manifests, their keys, secrets, runs, logs, endpoints and schedules."""
