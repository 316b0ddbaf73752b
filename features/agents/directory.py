"""Which agent is behind a queue member: interface -> agent, from PostgreSQL, cached in memory.

Public API (``AgentDirectory(pool)``):
- ``await refresh()``: reload every active agent (call at start; cheap: one query).
- ``agent_for_interface(interface) -> Agent | None``: synchronous, from the cache (the pop path
  must not wait on PostgreSQL). Matches the agent's ``interface`` as AMI names members.
- ``agent_for_member(interface, state_interface="") -> Agent | None``: the member's interface,
  else its state interface (a ``Local/...`` member whose device is ``PJSIP/101``).
- ``await find_interface(interface)``: like ``agent_for_interface`` but on a miss reloads once
  (at most every ``miss_refresh`` seconds), for an agent created after the last refresh.
- ``await get(agent_id) -> Agent | None``: the agent from PostgreSQL (fresh), cached.
- ``agents() -> list[Agent]``: every cached agent that has a phone interface.
"""
from __future__ import annotations

import time

import asyncpg

from features.loop_slices import TimeSlice
from state.models import Agent
from state.repositories.agents import get_agent, list_agents


class AgentDirectory:
    def __init__(self, pool: asyncpg.Pool, *, miss_refresh: float = 2.0) -> None:
        self._pool = pool
        self._by_interface: dict[str, Agent] = {}
        self._by_id: dict[int, Agent] = {}
        self._miss_refresh = miss_refresh
        self._refreshed_at = 0.0

    async def refresh(self) -> None:
        # In slices: the supervisor's copy is refreshed every 30 s while calls pop.
        agents = await list_agents(self._pool, pause=TimeSlice().pause_if_due)
        self._by_id = {a.id: a for a in agents}
        self._by_interface = {a.interface: a for a in agents if a.interface}
        self._refreshed_at = time.monotonic()

    def agent_for_interface(self, interface: str) -> Agent | None:
        return self._by_interface.get(interface)

    def agent_for_member(self, interface: str, state_interface: str = "") -> Agent | None:
        agent = self._by_interface.get(interface)
        if agent is None and state_interface:
            agent = self._by_interface.get(state_interface)
        return agent

    async def find_interface(self, interface: str) -> Agent | None:
        agent = self._by_interface.get(interface)
        if agent is None and time.monotonic() - self._refreshed_at >= self._miss_refresh:
            await self.refresh()
            agent = self._by_interface.get(interface)
        return agent

    async def get(self, agent_id: int) -> Agent | None:
        agent = await get_agent(self._pool, agent_id)
        if agent is None:
            old = self._by_id.pop(agent_id, None)
            if old is not None and old.interface:
                self._by_interface.pop(old.interface, None)
            return None
        old = self._by_id.get(agent_id)
        if old is not None and old.interface and old.interface != agent.interface:
            self._by_interface.pop(old.interface, None)
        self._by_id[agent_id] = agent
        if agent.interface and agent.active:
            self._by_interface[agent.interface] = agent
        return agent

    def cached(self, agent_id: int) -> Agent | None:
        return self._by_id.get(agent_id)

    def agents(self) -> list[Agent]:
        return list(self._by_interface.values())
