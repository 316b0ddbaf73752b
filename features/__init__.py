"""Feature plugins: one folder per feature (service, projector, notifier, HTTP, sockets)."""
