"""Callback commitments over real HTTP, the PBX simulator (click-to-call) and the board socket:
recorded from the card, listed by due time with the overdue marked, dialled, closed by an
outcome, counted in time by the report."""
from __future__ import annotations

import datetime as dt

from cti.simulator import wire
from tests.features.agents.pop_rig import (  # noqa: F401 (fixtures)
    app_settings, make_account, make_agent, serve, served, server, settings, simulator,
)
from tests.features.supervisor.supervisor_rig import BoardClient, logged_in, user
from tests.helpers import until

AGENT_PHONE = "Local/1009@agents/n"  # a member phone of recorded_config: answers after 1 s


async def test_when_an_agent_records_a_callback_then_it_is_listed_dialled_closed_and_counted(
    serve, simulator, pg_pool, make_account
):
    account = await make_account()
    made = await make_agent(pg_pool, AGENT_PHONE, queue="readings")
    server, _app = await serve()
    agent = await logged_in(server, *made)
    other = await user(server, pg_pool)
    boss = await user(server, pg_pool, role="supervisor")
    board = await BoardClient.open(server, boss.token)
    await board.wait_for("board")
    try:
        before = dt.datetime.now(dt.timezone.utc)
        status, promise = await agent.request("POST", "/api/callbacks", {
            "phone": "8 (912) 111-00-01", "account": account["number"], "call_id": "call-1",
            "note": "уточнить перерасчёт"})
        assert status == 201, promise
        after = dt.datetime.now(dt.timezone.utc)
        due = dt.datetime.fromisoformat(promise["due_at"])
        assert before + dt.timedelta(hours=4) <= due <= after + dt.timedelta(hours=4)
        assert (promise["phone"], promise["account"], promise["agent_id"], promise["status"],
                promise["overdue"]) == ("+79121110001", account["number"], agent.agent_id,
                                        "open", False)
        status, late = await agent.request("POST", "/api/callbacks", {
            "phone": "+79121110009", "note": "", "due_in_minutes": 30})
        assert status == 201, late
        # The promise made 5 hours ago is overdue now.
        await pg_pool.execute(
            "UPDATE callbacks SET created_at = now() - interval '5 hours', "
            "due_at = now() - interval '1 hour' WHERE id = $1", late["id"])
        status, bad = await agent.request("POST", "/api/callbacks", {"phone": "12", "note": ""})
        assert status == 400 and bad["details"] == {"field": "phone"}

        # The agent's own list, by due time, the overdue first and marked.
        status, mine = await agent.request("GET", "/api/callbacks?status=open")
        assert status == 200
        assert [(c["id"], c["overdue"]) for c in mine["callbacks"]] == [
            (late["id"], True), (promise["id"], False)]
        assert (await other.request("GET", "/api/callbacks"))[1]["callbacks"] == []
        status, every = await boss.request("GET", "/api/callbacks")
        assert {promise["id"], late["id"]} <= {c["id"] for c in every["callbacks"]}
        # The board got the open list pushed.
        pushed = await board.wait_for("callbacks", lambda d: {promise["id"], late["id"]} <= {
            c["id"] for c in d["callbacks"]})
        assert next(c for c in pushed["callbacks"] if c["id"] == late["id"])["overdue"] is True

        # Another agent may neither dial nor close it.
        assert (await other.request("POST", f"/api/callbacks/{promise['id']}/dial"))[0] == 403
        # Dialling rings the agent's phone, then the PBX dials the number (click-to-call).
        status, dialled = await agent.request("POST", f"/api/callbacks/{promise['id']}/dial")
        assert status == 202, dialled
        action = await until(lambda: next((a for a in simulator.pbx.originates
                                           if wire.first(a, "ChannelId") == dialled["call_id"]),
                                          None))
        assert (wire.first(action, "Channel"), wire.first(action, "Exten")) == (
            AGENT_PHONE, "79121110001")
        row = await pg_pool.fetchrow("SELECT dialled_at, dial_call_id, status FROM callbacks "
                                     "WHERE id = $1", promise["id"])
        assert row["dial_call_id"] == dialled["call_id"] and row["status"] == "open"
        assert row["dialled_at"] is not None

        status, body = await agent.request("PUT", f"/api/callbacks/{promise['id']}/outcome",
                                           {"outcome": "maybe"})
        assert status == 400 and "answer_given" in body["details"]["allowed"]
        status, closed = await agent.request(
            "PUT", f"/api/callbacks/{promise['id']}/outcome",
            {"outcome": "answer_given", "comment": "объяснено"})
        assert status == 200, closed
        assert (closed["status"], closed["outcome"], closed["overdue"]) == (
            "done", "answer_given", False)
        status, again = await agent.request("PUT", f"/api/callbacks/{promise['id']}/outcome",
                                            {"outcome": "no_answer"})
        assert status == 409
        status, _ = await agent.request("POST", f"/api/callbacks/{promise['id']}/dial")
        assert status == 400
        await board.wait_for("callbacks", lambda d: promise["id"] not in {
            c["id"] for c in d["callbacks"]})
        status, mine = await agent.request("GET", "/api/callbacks?status=open")
        assert [c["id"] for c in mine["callbacks"]] == [late["id"]]
        status, done = await agent.request("GET", "/api/callbacks?status=done")
        assert [c["id"] for c in done["callbacks"]] == [promise["id"]]

        # The late one is closed after its due time: done, but not kept in time.
        status, _ = await boss.request("PUT", f"/api/callbacks/{late['id']}/outcome",
                                       {"outcome": "no_answer"})
        assert status == 200
        status, third = await agent.request("POST", "/api/callbacks",
                                            {"phone": "+79121110008", "note": ""})
        await pg_pool.execute("UPDATE callbacks SET due_at = now() - interval '1 minute' "
                              "WHERE id = $1", third["id"])
        # Moved, every time alike, to a day of their own: other tests' commitments stay out.
        ids = [promise["id"], late["id"], third["id"]]
        await pg_pool.execute(
            "UPDATE callbacks SET created_at = created_at - $2::interval, due_at = due_at - $2, "
            "dialled_at = dialled_at - $2, closed_at = closed_at - $2 WHERE id = ANY($1)",
            ids, dt.datetime.now(dt.timezone.utc) - dt.datetime(2001, 1, 1, 9,
                                                                tzinfo=dt.timezone.utc))
        status, report = await boss.request(
            "GET", "/api/reports/callbacks?from=2001-01-01&to=2001-01-01")
        assert status == 200, report
        assert {k: report[k] for k in ("total", "done", "kept_in_time", "overdue_open")} == {
            "total": 3, "done": 2, "kept_in_time": 1, "overdue_open": 1}
        assert report["timezone"] == "Europe/Moscow"
        assert report["from"].startswith("2001-01-01T00:00:00+03")
        assert (await agent.request("GET", "/api/reports/callbacks"))[0] == 403
    finally:
        await board.close()
