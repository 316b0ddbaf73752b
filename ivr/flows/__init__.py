"""Caller flows, one module each; ``menu.run_call`` strings them together."""
