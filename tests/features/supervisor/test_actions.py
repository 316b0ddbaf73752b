"""The supervisor's actions over real HTTP, the PBX simulator and Socket.IO: forced readiness
through the agents' service, listen / whisper / barge through ChanSpy, every one audited.

recorded_config: queue ``support`` rings 1001 (answers after 2 PBX seconds) and 1002 (never).
"""
from __future__ import annotations

from agent_api.app_keys import CTI
from cti.simulator import wire
from features.supervisor.actions import agent_call
from features.supervisor.settings import SupervisorSettings
from tests.features.agents.pop_rig import (  # noqa: F401 (fixtures)
    app_settings, desk_for, desks, make_agent, ring, serve, served, server, settings, simulator,
)
from tests.features.supervisor.supervisor_rig import BoardClient, logged_in, user
from tests.helpers import until
from tests.test_dialplans import DIALPLANS, extensions

AGENT = "Local/1001@agents/n"
SUPERVISOR_PHONE = "Local/1090@agents/n"


async def _audit(pool, actor_id: int) -> list[dict]:
    rows = await pool.fetch("SELECT * FROM supervisor_audit WHERE actor_id = $1 ORDER BY id",
                            actor_id)
    return [dict(r) for r in rows]


async def test_when_a_supervisor_forces_an_agent_not_ready_then_the_pbx_and_the_agent_desk_follow_and_it_is_audited(
    serve, simulator, pg_pool, desks
):
    made = await make_agent(pg_pool, AGENT)  # before the server: its directory loads agents
    server, _app = await serve()
    agent = await logged_in(server, *made)
    boss = await user(server, pg_pool, role="supervisor")
    desk = await desk_for(server, agent.login, desks)
    await desk.wait_for("state")
    board = await BoardClient.open(server, boss.token)
    await board.wait_for("board")

    status, body = await boss.request("PUT", f"/api/supervisor/agents/{agent.agent_id}/readiness",
                                      {"state": "not_ready", "reason": "training"})
    assert status == 202, body
    member = simulator.pbx.queues["support"].members[AGENT]
    assert (member.paused, member.reason) == (True, "training")  # the PBX was asked
    view = await desk.wait_for("state", lambda s: s.get("readiness", {}).get("state")
                               == "not_ready" and s["readiness"].get("pending") is None)
    assert view["readiness"]["reason"] == "training"
    frame = await board.wait_for("agents", lambda d: any(
        a["agent_id"] == agent.agent_id and a["state"] == "not_ready" for a in d["agents"]))
    row = next(a for a in frame["agents"] if a["agent_id"] == agent.agent_id)
    assert row["reason"] == "training"

    status, body = await boss.request("PUT", f"/api/supervisor/agents/{agent.agent_id}/readiness",
                                      {"state": "not_ready", "reason": "no-such-reason"})
    assert (status, body["error_id"]) == (422, "unknown-pause-reason")
    status, body = await boss.request("PUT", f"/api/supervisor/agents/{agent.agent_id}/readiness",
                                      {"state": "logged_out"})
    assert status == 202, body
    await until(lambda: AGENT not in simulator.pbx.queues["support"].members
                or simulator.pbx.queues["support"].members[AGENT].reason == "logged_out")

    # Every supervisor's board is told at once.
    pushed = await board.wait_for("audit", lambda d: d["entry"]["action"] == "force_logged_out")
    assert pushed["entry"]["actor_login"] == boss.login
    assert [d["entry"]["result"] for d in board.named("audit")] == [
        "ok", "unknown-pause-reason", "ok"]
    await board.close()
    entries = await _audit(pg_pool, boss.agent_id)
    assert [(e["action"], e["target_agent_id"], e["result"]) for e in entries] == [
        ("force_not_ready", agent.agent_id, "ok"),
        ("force_not_ready", agent.agent_id, "unknown-pause-reason"),
        ("force_logged_out", agent.agent_id, "ok")]
    assert entries[0]["actor_login"] == boss.login and entries[0]["at"] is not None
    status, body = await boss.request("GET", "/api/supervisor/audit")
    assert status == 200
    mine = [e for e in body["entries"] if e["actor_id"] == boss.agent_id]
    assert [e["action"] for e in mine] == ["force_not_ready", "force_not_ready",
                                           "force_logged_out"]
    # An agent may not force anyone, and sees no audit.
    status, _ = await agent.request("PUT", f"/api/supervisor/agents/{boss.agent_id}/readiness",
                                    {"state": "logged_out"})
    assert status == 403
    assert (await agent.request("GET", "/api/supervisor/audit"))[0] == 403


async def test_when_a_supervisor_listens_then_their_phone_is_originated_into_chanspy_of_the_agents_channel(
    serve, simulator, pg_pool
):
    made = await make_agent(pg_pool, AGENT)
    server, app = await serve()
    agent = await logged_in(server, *made)
    boss = await user(server, pg_pool, SUPERVISOR_PHONE, role="supervisor")
    seen: list[tuple[str, dict]] = []
    simulator.pbx.observers.append(lambda name, body: seen.append((name, dict(body))))

    status, body = await boss.request("POST", f"/api/supervisor/agents/{agent.agent_id}/spy",
                                      {"mode": "listen"})
    assert (status, body["error_id"]) == (409, "agent-not-on-call")

    ring(simulator, "support", "79161234567", patience=400)
    tracker = app[CTI].tracker
    talking = await until(lambda: agent_call(tracker, AGENT), timeout=8)
    # The agent's channel in the PBX: the member channel the queue bridged to the caller.
    member_channel = next(c.name for c in simulator.pbx.factory.channels.values()
                          if c.name.startswith("Local/1001@agents-") and c.name.endswith(";1")
                          and c.linkedid == talking.call_id)
    assert talking.channel == member_channel

    for mode in ("listen", "whisper", "barge"):
        status, body = await boss.request(
            "POST", f"/api/supervisor/agents/{agent.agent_id}/spy", {"mode": mode})
        assert status == 202, body
        action = next(a for a in simulator.pbx.originates
                      if wire.first(a, "ChannelId") == body["call_id"])
        assert wire.first(action, "Channel") == SUPERVISOR_PHONE
        assert (wire.first(action, "Context"), wire.first(action, "Exten")) == ("ccs-spy", mode)
        assert f"CCS_SPY_CHANNEL={member_channel}" in wire.every(action, "Variable")
    # The PBX's ChanSpy joined that channel once the supervisor's phone answered.
    start = await until(lambda: [b for n, b in seen if n == "ChanSpyStart"], timeout=8)
    assert start[0]["SpyeeChannel"] == member_channel

    no_phone = await user(server, pg_pool, role="supervisor")
    status, body = await no_phone.request(
        "POST", f"/api/supervisor/agents/{agent.agent_id}/spy", {"mode": "listen"})
    assert (status, body["error_id"]) == (409, "no-phone")
    status, body = await boss.request("POST", f"/api/supervisor/agents/{agent.agent_id}/spy",
                                      {"mode": "shout"})
    assert status == 422

    entries = await _audit(pg_pool, boss.agent_id)
    assert [(e["action"], e["result"]) for e in entries] == [
        ("spy_listen", "agent-not-on-call"), ("spy_listen", "ok"), ("spy_whisper", "ok"),
        ("spy_barge", "ok")]
    assert all(e["target"] == talking.call_id for e in entries[1:])
    assert (await _audit(pg_pool, no_phone.agent_id))[0]["result"] == "no-phone"


def test_when_reading_the_spy_context_then_each_mode_runs_chanspy_of_the_named_channel():
    spy = extensions(DIALPLANS / "extensions.conf")["ccs-spy"]
    options = {}
    for mode in ("listen", "whisper", "barge"):
        apps = [(app, data) for _, app, data in spy[mode]]
        chanspy = [data for app, data in apps if app == "ChanSpy"]
        assert len(chanspy) == 1 and apps[-1][0] == "Hangup"
        target, _, opts = chanspy[0].partition(",")
        assert target == "${CCS_SPY_CHANNEL}"
        options[mode] = set(opts)
    assert options == {"listen": {"q", "E"}, "whisper": {"q", "w", "E"},
                       "barge": {"q", "B", "E"}}
    assert SupervisorSettings().spy_context == "ccs-spy"
