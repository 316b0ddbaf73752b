"""Member interface -> agent, in memory, kept true by PostgreSQL (LISTEN ccs_agent_changed).

The pop path asks who a ringing phone belongs to at every ring; a round trip to PostgreSQL there
was the largest part of an idle pop. Migration 0006 notifies the id of every agent whose
interface, active flag, role or name changes (whoever writes the row: REST, the CLI, plain SQL),
and this map reloads that one agent, so a phone given to another agent pops at the new agent
from its next ring on.

Notifications sent while nobody listens are lost, so after every (re)connection the whole map is
reloaded, and until that reload is done (or while PostgreSQL is away) :meth:`get` asks
PostgreSQL as before: the map is never trusted when it may be stale.

Public API (``InterfaceMap(pool)``): ``await run()`` until cancelled (the notifier's owner runs
it); ``await get(interface) -> Agent | None`` (only active agents of role ``agent``),
``known(interface)`` the same from memory only (no await);
``current`` (the map is being kept true); ``status()``.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg

from features.loop_slices import TimeSlice
from state.db import is_database_outage
from state.models import Agent
from state.repositories.agents import get_agent, get_agent_by_interface, list_agents

log = logging.getLogger(__name__)

CHANNEL = "ccs_agent_changed"
RELOAD_ALL = "*"


def pops_for(agent: Agent | None) -> Agent | None:
    """The agent a ring pops at: active agents only (supervisors and admins take no calls)."""
    return agent if agent is not None and agent.active and agent.role == "agent" else None


class InterfaceMap:
    def __init__(self, pool: asyncpg.Pool, *, retry_min: float = 0.1, retry_max: float = 5.0,
                 keepalive: float = 5.0) -> None:
        self._pool = pool
        self._retry_min = retry_min
        self._retry_max = retry_max
        self._keepalive = keepalive
        self._by_interface: dict[str, Agent] = {}
        self._interface_of: dict[int, str] = {}
        self._changes: asyncio.Queue[str] = asyncio.Queue()
        self.current = False
        self.applied = 0
        self.became_current = asyncio.Event()

    def status(self) -> dict:
        return {"current": self.current, "agents": len(self._by_interface),
                "changes_applied": self.applied}

    def known(self, interface: str) -> tuple[bool, Agent | None]:
        """``(True, agent or None)`` from memory while the map is current; ``(False, None)``
        when only :meth:`get` (PostgreSQL) can tell."""
        if self.current:
            return True, self._by_interface.get(interface)
        return False, None

    async def get(self, interface: str) -> Agent | None:
        if self.current:
            return self._by_interface.get(interface)
        return pops_for(await get_agent_by_interface(self._pool, interface))

    # --- keeping it true ----------------------------------------------------------------------
    async def run(self) -> None:
        worker = asyncio.create_task(self._apply_changes(), name="interface-map-changes")
        try:
            await self._listen_forever()
        finally:
            self.current = False
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker

    async def _listen_forever(self) -> None:
        delay = self._retry_min
        while True:
            try:
                async with self._pool.acquire() as conn:
                    await self._listen(conn)
                delay = self._retry_min
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not is_database_outage(exc):
                    log.exception("interface map listener failed")
            self.current = False
            log.warning("interface map lost PostgreSQL: asking it at every ring until back")
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._retry_max)

    async def _listen(self, conn: asyncpg.Connection) -> None:
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _conn: lost.set())
        await conn.add_listener(CHANNEL, self._on_notification)
        try:
            # Whatever changed while nobody listened is unknown: reload every agent.
            self._changes.put_nowait(RELOAD_ALL)
            while not lost.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), self._keepalive)
                    return
                # A silently dead connection (no FIN from a crashed host) shows here.
                await conn.fetchval("SELECT 1", timeout=self._keepalive)
        finally:
            self.current = False
            if not conn.is_closed():
                with contextlib.suppress(Exception):
                    await conn.remove_listener(CHANNEL, self._on_notification)

    def _on_notification(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        self._changes.put_nowait(payload)

    async def _apply_changes(self) -> None:
        while True:
            payload = await self._changes.get()
            try:
                if payload == RELOAD_ALL:
                    await self._reload_all()
                    self.current = True
                    self.became_current.set()
                else:
                    await self._reload_one(int(payload))
                self.applied += 1
            except asyncio.CancelledError:
                raise
            except ValueError:
                log.warning("interface map: ignoring a notification that is not an agent id")
            except Exception as exc:  # PostgreSQL away: ask it at every ring, reload when back
                self.current = False
                log.warning("interface map: change not applied (%s)", type(exc).__name__)
                await asyncio.sleep(self._retry_max)
                self._changes.put_nowait(RELOAD_ALL)

    async def _reload_all(self) -> None:
        agents = [a for a in await list_agents(self._pool, pause=TimeSlice().pause_if_due)
                  if pops_for(a) and a.interface]
        self._by_interface = {a.interface: a for a in agents if a.interface}
        self._interface_of = {a.id: a.interface for a in agents if a.interface}

    async def _reload_one(self, agent_id: int) -> None:
        agent = pops_for(await get_agent(self._pool, agent_id))
        old = self._interface_of.pop(agent_id, None)
        if old is not None and self._by_interface.get(old, None) is not None \
                and self._by_interface[old].id == agent_id:
            del self._by_interface[old]
        if agent is None or not agent.interface:
            return
        previous = self._by_interface.get(agent.interface)
        if previous is not None and previous.id != agent_id:  # its notification may still come
            self._interface_of.pop(previous.id, None)
        self._by_interface[agent.interface] = agent
        self._interface_of[agent_id] = agent.interface
