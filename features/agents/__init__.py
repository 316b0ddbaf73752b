"""The agent desktop feature: readiness, wrap-up, screen pop, card actions (see plugin.py)."""
