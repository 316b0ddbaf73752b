"""The one naming scheme of every Redis key and pub/sub channel.

Every name starts with ``RedisSettings.key_prefix`` (``{prefix}`` below, ``ccs`` by default), so
several deployments or test runs can share one Redis. Nothing outside this module spells a key.

Keys
----
``{prefix}:agent:{agent_id}:state``   hash    live readiness of one agent: ``state`` (ready,
                                              not_ready, ringing, on_call, wrap_up, logged_out),
                                              ``reason``, ``since`` (ISO 8601 UTC) and ``view``
                                              (the whole AgentView as JSON), written only by the
                                              agents' projector. No TTL: the current state.
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
``{prefix}:agent:{agent_id}:pops``    hash    the agent's open screen pops: call id -> Pop JSON,
                                              ``{call_id}:disposition`` -> code; written by the
                                              PBX lease holder's notifier (features/agents/pops.py).
``{prefix}:agent:{agent_id}:sockets`` set    ``"{namespace} {sid}"`` of the user's open sockets in
                                              any process, so a logout closes them
                                              (features/socket_sessions.py); TTL: the token's.
``{prefix}:call:{linkedid}:pops``     hash    agent id -> pop status of every agent holding a pop
                                              of the call (ringall: who to close on answer).
``{prefix}:agents:stream``           stream  the agents' service events (readiness requested /
                                              failed / applied, wrap-up changes) from every
                                              process to the leader's projector; capped (MAXLEN ~).
``{prefix}:agents:stream:cursor``    string  id of the last stream entry the leader handled (the
                                              next leader goes on from there).
``{prefix}:supervisor:open-legs``    hash    the call recorder's open queue legs (leg, call and
                                              wrap-up entries as JSON) so a restart or a new
                                              leader loses none (features/supervisor/records.py).
``{prefix}:supervisor:board``        hash    the board as last pushed (``meta``, ``queue:{name}``,
                                              ``agent:{id}``, ``abandoned``, ``callbacks``: JSON),
                                              written by the leader with every push, so a board
                                              connecting to any process gets the whole picture
                                              (features/supervisor/board_notifier.py).
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
``{prefix}:socketio``                 python-socketio's AsyncRedisManager: emits of any
                                      process reach sockets held by every process.

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

    def agents_stream(self) -> str:
        return f"{self.prefix}:agents:stream"

    def agents_stream_cursor(self) -> str:
        return f"{self.prefix}:agents:stream:cursor"

    def lock(self, name: str) -> str:
        return f"{self.prefix}:lock:{name}"

    def user_sockets(self, agent_id: int) -> str:
        return f"{self.prefix}:agent:{int(agent_id)}:sockets"

    def agent_pops(self, agent_id: int) -> str:
        return f"{self.prefix}:agent:{int(agent_id)}:pops"

    def call_pops(self, linkedid: str) -> str:
        return f"{self.prefix}:call:{linkedid}:pops"

    def supervisor_open_legs(self) -> str:
        return f"{self.prefix}:supervisor:open-legs"

    def supervisor_board(self) -> str:
        return f"{self.prefix}:supervisor:board"

    # --- channels
    def events(self) -> str:
        return f"{self.prefix}:events"

    def agent_events(self, agent_id: int) -> str:
        return f"{self.prefix}:agent:{int(agent_id)}:events"

    def queue_events(self, name: str) -> str:
        return f"{self.prefix}:queue:{name}:events"

    def socketio(self) -> str:
        return f"{self.prefix}:socketio"
