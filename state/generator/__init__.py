"""Deterministic, realistic Russian utility data for demos, tests and benchmarks.

``generate(pool_or_dsn, accounts, seed)`` fills an empty database: consumers, accounts with
addresses in several time zones, phones, services, balances and debts, charges, payments, meters
and readings, appeals, outages and billing periods, plus the fixed demo accounts of
:mod:`state.generator.known`.
"""

from .known import KNOWN_ACCOUNTS, KNOWN_OUTAGE, KnownAccount
from .loader import GenerationReport, GeneratorError, generate

DEMO_ACCOUNTS = 2000  # the size of the demo data set

__all__ = [
    "DEMO_ACCOUNTS",
    "KNOWN_ACCOUNTS",
    "KNOWN_OUTAGE",
    "GenerationReport",
    "GeneratorError",
    "KnownAccount",
    "generate",
]
