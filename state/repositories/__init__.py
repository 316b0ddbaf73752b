"""Small typed async functions over PostgreSQL that return domain models.

Each takes an asyncpg Connection or Pool first. Split by aggregate: ``accounts``, ``agents``,
``appeals``, ``interactions``, ``outages``; errors in ``errors``. The consumer card is in
``state/cards.py``.
"""
from state.repositories.accounts import (
    find_accounts_by_phone,
    get_account,
    get_account_by_id,
    meters_of_account,
)
from state.repositories.agents import (
    get_agent,
    get_agent_by_interface,
    get_agent_by_login,
    get_agent_credentials,
    hash_password,
    list_agents,
    list_queues,
    revoke_sessions,
    session_of,
    set_agent_active,
    set_password_hash,
    upsert_agent,
    upsert_queue,
    verify_password,
)
from state.repositories.appeals import appeals_of_account, insert_appeal
from state.repositories.base import Queryable, transaction
from state.repositories.errors import (
    InterfaceTaken,
    PasswordRequired,
    PasswordTooLong,
    RepositoryError,
    UnknownQueue,
)
from state.repositories.interactions import (
    insert_interaction,
    interactions_of_account,
    update_interaction_outcome,
)
from state.repositories.outages import active_outages_at

__all__ = [
    "Queryable",
    "transaction",
    "find_accounts_by_phone",
    "get_account",
    "get_account_by_id",
    "meters_of_account",
    "get_agent",
    "get_agent_by_interface",
    "get_agent_by_login",
    "get_agent_credentials",
    "hash_password",
    "list_agents",
    "list_queues",
    "revoke_sessions",
    "session_of",
    "set_agent_active",
    "set_password_hash",
    "upsert_agent",
    "upsert_queue",
    "verify_password",
    "appeals_of_account",
    "insert_appeal",
    "InterfaceTaken",
    "PasswordRequired",
    "PasswordTooLong",
    "RepositoryError",
    "UnknownQueue",
    "insert_interaction",
    "interactions_of_account",
    "update_interaction_outcome",
    "active_outages_at",
]
