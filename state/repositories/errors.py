"""Domain errors of the repositories; the HTTP layer maps them to status codes."""
from __future__ import annotations


class RepositoryError(Exception):
    """Base of every error a repository raises on purpose."""


class PasswordRequired(RepositoryError, ValueError):
    """A new agent needs a password."""


class PasswordTooLong(RepositoryError, ValueError):
    """bcrypt reads only 72 bytes; a longer password would be silently truncated elsewhere."""


class InterfaceTaken(RepositoryError):
    """Another agent already uses this phone interface (e.g. PJSIP/101)."""


class UnknownQueue(RepositoryError):
    """An agent was put into a queue that does not exist."""
