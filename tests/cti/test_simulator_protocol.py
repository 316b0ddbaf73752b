"""The simulator's AMI session rules and queue model, seen over raw TCP."""
from __future__ import annotations

from cti.simulator.originate import inbound_call
from cti.simulator.queues import Member, Queue, QueueConfig
from tests.helpers import until


async def test_when_secret_is_wrong_then_authentication_fails_and_session_closes(sim, raw_client):
    client = await raw_client(sim.port)
    assert client.banner == "Asterisk Call Manager/11.0.0\r\n"
    client.login(secret="nope")
    await until(lambda: client.closed.is_set(), timeout=2)
    assert client.answer("login") == {"Response": "Error", "ActionID": "login",
                                      "Message": "Authentication failed"}


async def test_when_not_logged_in_then_actions_are_refused(sim, raw_client):
    client = await raw_client(sim.port)
    client.send(("Action", "QueueStatus"), ("ActionID", "q"))
    await until(lambda: client.answer("q"), timeout=2)
    assert client.answer("q")["Message"] == "Permission denied"


async def test_when_ping_and_unknown_actions_are_sent_then_answers_echo_the_action_id(
        sim, raw_client):
    client = await raw_client(sim.port)
    client.login()
    client.send(("Action", "Ping"), ("ActionID", "p1"))
    client.send(("Action", "NoSuchThing"), ("ActionID", "x1"))
    client.send(("ActionID", "m1"))
    await until(lambda: client.answer("m1"), timeout=2)
    pong = client.frames[[d.get("ActionID") for d in client.dicts()].index("p1")]
    assert [k for k, _ in pong] == ["Response", "ActionID", "Ping", "Timestamp"]
    assert client.answer("x1")["Response"] == "Error"
    assert client.answer("m1")["Message"] == "Missing action in request"


async def test_when_events_are_filtered_then_only_the_chosen_classes_arrive(sim, raw_client):
    quiet = await raw_client(sim.port)
    quiet.login(events="off")
    agents_only = await raw_client(sim.port)
    agents_only.login()
    agents_only.send(("Action", "Events"), ("EventMask", "agent"), ("ActionID", "e"))
    await until(lambda: agents_only.answer("e") and quiet.answer("login"), timeout=2)
    assert agents_only.answer("e")["Events"] == "On"
    sim.spawn(inbound_call(sim.pbx, "outages", "+79120000003", "Petr Sidorov", patience=3))
    await until(lambda: agents_only.events("QueueCallerLeave"), timeout=5)
    names = {e["Event"] for e in agents_only.events()} - {"FullyBooted"}
    assert names and all(n.startswith(("Queue", "Agent")) for n in names)
    assert [e["Event"] for e in quiet.events()] == ["FullyBooted"]


async def test_when_queue_timeout_expires_then_it_is_reported_as_abandon_and_caller_stays(
        sim, raw_client):
    client = await raw_client(sim.port)
    client.login()
    sim.spawn(inbound_call(sim.pbx, "outages", "+79120000003", "Petr Sidorov", patience=10,
                           qtimeout=3))
    await until(lambda: client.events("QueueCallerLeave"), timeout=5)
    names = [e["Event"] for e in client.events("QueueCallerAbandon", "QueueCallerLeave")]
    assert names == ["QueueCallerAbandon", "QueueCallerLeave"]
    assert any(name.startswith("Local/outages@ccs-in") for name in sim.pbx.factory.channels)
    await until(lambda: not sim.pbx.factory.channels, timeout=5)


def _queue(strategy: str, names: list[str]) -> Queue:
    queue = Queue(QueueConfig(name="q", strategy=strategy))
    for n in names:
        queue.members[n] = Member(n, n, 0, False, 0)
    return queue


def test_when_strategy_is_rrmemory_then_members_are_rung_in_turn():
    queue = _queue("rrmemory", ["a", "b", "c"])
    members = list(queue.members.values())
    picks = [queue.choose(members)[0].interface for _ in range(4)]
    assert picks == ["a", "b", "c", "a"]


def test_when_strategy_is_fewestcalls_or_leastrecent_then_the_idlest_member_rings():
    queue = _queue("fewestcalls", ["a", "b"])
    queue.members["a"].calls = 3
    assert [m.interface for m in queue.choose(list(queue.members.values()))] == ["b"]
    queue = _queue("leastrecent", ["a", "b"])
    queue.members["b"].last_call = 100
    assert [m.interface for m in queue.choose(list(queue.members.values()))] == ["a"]
    queue = _queue("ringall", ["a", "b"])
    queue.members["b"].penalty = 1
    assert [m.interface for m in queue.choose(list(queue.members.values()))] == ["a"]


def test_when_two_simulated_pbxes_start_in_the_same_second_then_their_uniqueids_differ():
    from cti.simulator.channels import ChannelFactory, Clock

    clock = Clock()
    first, second = ChannelFactory(clock), ChannelFactory(clock)
    ids = [first.local_pair("100", "agents")[0].uniqueid for _ in range(3)]
    others = [second.local_pair("100", "agents")[0].uniqueid for _ in range(3)]
    assert not set(ids) & set(others)
    # Still Asterisk's form: the epoch second, a dot, a counter that goes up with each
    # channel (a Local pair takes two).
    seconds, counters = zip(*(uid.split(".") for uid in ids))
    assert {int(s) for s in seconds} <= {int(clock.now()), int(clock.now()) - 1}
    assert [int(c) for c in counters][1] - int(counters[0]) in (1, 2)
