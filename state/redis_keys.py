"""The one naming scheme of every Redis key and pub/sub channel.

Every name starts with ``RedisSettings.key_prefix`` (``{prefix}`` below, ``ccs`` by default), so
several deployments or test runs can share one Redis. Nothing outside this module spells a key.

Keys
----
``{prefix}:agent:{agent_id}:state``   hash    live readiness of one agent: ``state`` (ready,
                                              not_ready, wrap_up, on_call, logged_out),
                                              ``reason`` (not_ready only), ``since`` (ISO 8601
                                              UTC). No TTL: it is the agent's current state.
``{prefix}:agents``                   set     ids of agents that have a state hash (for a
                                              supervisor board without SCAN).
``{prefix}:queue:{name}``             hash    integer counters of one queue (waiting, answered,
                                              abandoned, ...), maintained by ``cti/``.
``{prefix}:queues``                   set     names of queues that have a counter hash.
``{prefix}:call:{linkedid}``          hash    live facts of one call keyed by Asterisk's
                                              linkedid (caller, account, agent, queue, ...); a
                                              TTL (default 4 h) removes calls whose hangup was
                                              never seen.
``{prefix}:card:{account}``           string  cached consumer card (JSON of
                                              ``state.models.ConsumerCard``), TTL
                                              ``RedisSettings.card_cache_ttl``; see
                                              ``state/cards.py`` for when it is invalidated.
``{prefix}:lock:{name}``              string  lease of a singleton task (the AMI consumer of one
                                              PBX, the campaign pacer): SET NX PX, value = owner.

Channels (pub/sub, JSON messages, at-most-once: a subscriber that reconnects resynchronises
from the keys above)
--------------------------------------------------------------------------------------------
``{prefix}:events``                   every domain event (``{"type": ..., ...}``) for all
                                      processes: supervisor boards, notifiers.
``{prefix}:agent:{agent_id}:events``  events for one agent only (screen pops, readiness
                                      confirmations), so a process serving that agent's socket
                                      does not filter the whole stream.
``{prefix}:queue:{name}:events``      events of one queue.

Account numbers appear in card keys; keys are never logged (consumers' personal data).
"""
from __future__ import annotations

from dataclasses import dataclass

from state.settings import RedisSettings


@dataclass(frozen=True, slots=True)
class RedisKeys:
    prefix: str = "ccs"

    @classmethod
    def from_settings(cls, settings: RedisSettings) -> RedisKeys:
        return cls(settings.key_prefix)

    def __post_init__(self) -> None:
        if not self.prefix or any(ch in self.prefix for ch in ": *?[]"):
            raise ValueError("the Redis key prefix must be non-empty without ':', spaces or globs")

    # --- keys
    def agent_state(self, agent_id: int) -> str:
        return f"{self.prefix}:agent:{int(agent_id)}:state"

    def agents(self) -> str:
        return f"{self.prefix}:agents"

    def queue(self, name: str) -> str:
        return f"{self.prefix}:queue:{name}"

    def queues(self) -> str:
        return f"{self.prefix}:queues"

    def call(self, linkedid: str) -> str:
        return f"{self.prefix}:call:{linkedid}"

    def card(self, account: str) -> str:
        return f"{self.prefix}:card:{account}"

    def lock(self, name: str) -> str:
        return f"{self.prefix}:lock:{name}"

    # --- channels
    def events(self) -> str:
        return f"{self.prefix}:events"

    def agent_events(self, agent_id: int) -> str:
        return f"{self.prefix}:agent:{int(agent_id)}:events"

    def queue_events(self, name: str) -> str:
        return f"{self.prefix}:queue:{name}:events"
