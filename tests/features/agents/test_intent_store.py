"""The agents' durable intents in PostgreSQL: written when they change, not restated."""
from __future__ import annotations

import uuid

from features.agents.intent import AgentIntent, IntentQueue, IntentStore

from .readiness_stack import agents_db, agents_dsn, make_agent  # noqa: F401 (fixtures)


async def _version(pool, agent_id):
    return await pool.fetchrow(
        "SELECT xmin::text::bigint AS xmin, updated_at, state, reason FROM agent_intents "
        "WHERE agent_id = $1", agent_id)


async def test_when_an_unchanged_intent_is_put_again_then_no_new_row_version_is_written(
        agents_db):
    interface = f"PJSIP/is-{uuid.uuid4().hex[:8]}"
    agent_id = await make_agent(agents_db, interface, ["support"])
    store = IntentStore(agents_db)
    seats = (IntentQueue("support", penalty=1),)
    await store.put(AgentIntent(agent_id, interface, "ready", "", "Anna", seats))
    first = await _version(agents_db, agent_id)
    await store.put(AgentIntent(agent_id, interface, "ready", "", "Anna", seats))
    assert await _version(agents_db, agent_id) == first  # the same row version, same time
    await store.put(AgentIntent(agent_id, interface, "not_ready", "lunch", "Anna", seats))
    changed = await _version(agents_db, agent_id)
    assert (changed["state"], changed["reason"]) == ("not_ready", "lunch")
    assert changed["xmin"] != first["xmin"] and changed["updated_at"] > first["updated_at"]
    # A change of the queues alone is a change too.
    await store.put(AgentIntent(agent_id, interface, "not_ready", "lunch", "Anna",
                                (IntentQueue("support", penalty=2),)))
    assert (await store.get(agent_id)).queues == (IntentQueue("support", penalty=2),)
