"""The durable intended state of each agent: logged in or out, queues and penalties, paused and
why. Written only after the PBX accepted the change (a refused action leaves no intent behind).

Why PostgreSQL and not Redis: Redis here holds the *live* state, a projection that is rebuilt
from the PBX at any time and may run without persistence; an intent is a fact nobody can
rebuild (what the agent asked for) and must survive a crash of the server or of Redis. Intents
change at human speed (a few per agent per hour), so a PostgreSQL write per change costs
nothing, and the row sits beside the agent it belongs to (foreign key, deleted with it).

Public API:
- ``IntentQueue(queue, penalty=0, dynamic=True, state_interface="")``
- ``AgentIntent(agent_id, interface, state, reason="", member_name="", queues=[...])``
  with ``member_intents(wrapup=False) -> list[cti.service.Intent]`` (what the PBX should show)
- ``IntentStore(pool)``: ``await get(agent_id)``, ``await put(intent)`` (``updated_at``: when
  it last changed; an unchanged intent is not written again), ``await all()``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import asyncpg

from cti.service import Intent

LOGGED_OUT_REASON = "logged_out"
WRAPUP_REASON = "wrap-up"


@dataclass(frozen=True)
class IntentQueue:
    queue: str
    penalty: int = 0
    dynamic: bool = True  # False: a static member (queues.conf); only its pause is ours
    state_interface: str = ""


@dataclass(frozen=True)
class AgentIntent:
    agent_id: int
    interface: str
    state: str  # ready | not_ready | logged_out
    reason: str = ""
    member_name: str = ""
    queues: tuple[IntentQueue, ...] = field(default_factory=tuple)

    def member_intents(self, wrapup: bool = False) -> list[Intent]:
        """The members the PBX should have for this intent (a wrap-up in progress pauses them
        with ``wrap-up``). A logged-out agent keeps only its static members, paused."""
        out = []
        for q in self.queues:
            if self.state == "logged_out":
                if q.dynamic:
                    continue
                paused, reason = True, LOGGED_OUT_REASON
            elif wrapup:
                paused, reason = True, WRAPUP_REASON
            else:
                paused = self.state == "not_ready"
                reason = self.reason if paused else ""
            out.append(Intent(q.queue, self.interface, self.member_name, q.penalty, paused,
                              reason, q.dynamic, q.state_interface))
        return out


def _queues_json(queues: tuple[IntentQueue, ...]) -> str:
    return json.dumps([{"queue": q.queue, "penalty": q.penalty, "dynamic": q.dynamic,
                        "state_interface": q.state_interface} for q in queues])


def _intent(row: asyncpg.Record) -> AgentIntent:
    raw = row["queues"]
    items = json.loads(raw) if isinstance(raw, str) else raw
    return AgentIntent(
        row["agent_id"], row["interface"], row["state"], row["reason"], row["member_name"],
        tuple(IntentQueue(i["queue"], int(i.get("penalty", 0)), bool(i.get("dynamic", True)),
                          str(i.get("state_interface", ""))) for i in items))


class IntentStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def get(self, agent_id: int) -> AgentIntent | None:
        row = await self._pool.fetchrow("SELECT * FROM agent_intents WHERE agent_id = $1",
                                        agent_id)
        return None if row is None else _intent(row)

    async def all(self) -> list[AgentIntent]:
        """The intents still in force: of active agents who still have the phone the intent
        was made with. A phone given to another agent since carries that agent's wishes, not
        the old owner's lunch break."""
        rows = await self._pool.fetch(
            """SELECT i.* FROM agent_intents i JOIN agents a ON a.id = i.agent_id
               WHERE a.active AND a.interface = i.interface ORDER BY i.agent_id""")
        return [_intent(r) for r in rows]

    async def put(self, intent: AgentIntent) -> None:
        await self._pool.execute(
            """INSERT INTO agent_intents (agent_id, interface, state, reason, member_name, queues,
                                          updated_at)
               VALUES ($1, $2, $3, $4, $5, $6::text::jsonb, now())
               ON CONFLICT (agent_id) DO UPDATE SET interface = EXCLUDED.interface,
                   state = EXCLUDED.state, reason = EXCLUDED.reason,
                   member_name = EXCLUDED.member_name, queues = EXCLUDED.queues,
                   updated_at = now()
               -- Unchanged (every wrap-up's end restates the intent): no new row version.
               WHERE (agent_intents.interface, agent_intents.state, agent_intents.reason,
                      agent_intents.member_name, agent_intents.queues)
                     IS DISTINCT FROM (EXCLUDED.interface, EXCLUDED.state, EXCLUDED.reason,
                                       EXCLUDED.member_name, EXCLUDED.queues)""",
            intent.agent_id, intent.interface, intent.state, intent.reason, intent.member_name,
            _queues_json(intent.queues))
