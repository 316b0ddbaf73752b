"""The phones the simulator plays for agents who log in from a desktop (the demo's phones),
seen over a real AMI TCP connection."""
from __future__ import annotations

from ccs.demo import demo_pbx
from ccs.settings import Settings
from cti.simulator import PbxConfig, QueueConfig
from cti.simulator.channels import Clock
from cti.simulator.pbx import Pbx
from cti.simulator.agent_phones import PhoneBehaviour, Phones
from cti.simulator.presets import recorded_config
from cti.simulator.queues import AgentBehaviour
from cti.simulator.scenario import drive
from state.demo_data import DEMO_AGENTS, DEMO_QUEUES
from tests.helpers import until

PHONES = PhoneBehaviour(answer_min=2, answer_max=4, talk_min=5, talk_max=8, seed=3)
PHONES_FAST = PhoneBehaviour(answer_min=0.5, answer_max=1, talk_min=10, talk_max=60, seed=5)
AGENT = "Local/1001@agents/n"
# PBX seconds run 10x faster than wall seconds here: late wake-ups of a busy machine stay small
# in PBX time, and a call still takes about a second.
SCALE = 0.1
LATE = 1.0  # PBX seconds an event may come late on a loaded machine (never early)


def _stamp(event: dict[str, str]) -> float:
    return float(event["Timestamp"])


async def _logged_in(raw_client, sim):
    ami = await raw_client(sim.port)
    ami.login()
    await until(lambda: ami.answer("login"), timeout=2)
    return ami


def _queue_add(ami, queue: str, interface: str, action_id: str) -> None:
    ami.send(("Action", "QueueAdd"), ("Queue", queue), ("Interface", interface),
             ("MemberName", interface), ("StateInterface", interface), ("ActionID", action_id))


async def test_when_an_agent_logs_in_by_queueadd_then_the_phone_rings_answers_and_hangs_up(
        make_sim, raw_client):
    sim = await make_sim(PbxConfig(queues=[QueueConfig(name="support")], phones=PHONES), SCALE)
    ami = await _logged_in(raw_client, sim)
    _queue_add(ami, "support", AGENT, "add")
    await until(lambda: ami.answer("add"), timeout=2)
    assert ami.answer("add")["Response"] == "Success"
    ami.send(("Action", "Originate"), ("Channel", "Local/support@ccs-in"),
             ("Application", "Wait"), ("Data", "300"), ("CallerID", '"Caller" <+79120000001>'),
             ("Async", "true"), ("ActionID", "call"))
    await until(lambda: ami.events("AgentComplete"), timeout=10)
    (called,), (connect,), (complete,) = (ami.events(n) for n in (
        "AgentCalled", "AgentConnect", "AgentComplete"))
    assert {called["Interface"], connect["Interface"], complete["Interface"]} == {AGENT}
    assert called["CallerIDNum"] == "+79120000001"
    assert 2.0 <= _stamp(connect) - _stamp(called) <= 4.0 + LATE
    assert 5.0 <= _stamp(complete) - _stamp(connect) <= 8.0 + LATE
    assert complete["Reason"] == "agent"  # the agent hung up, not the caller (patience 300 s)
    await until(lambda: not sim.pbx.factory.channels, timeout=5)


async def test_when_an_agent_takes_several_calls_then_each_call_draws_its_own_times(
        make_sim, raw_client):
    sim = await make_sim(PbxConfig(queues=[QueueConfig(name="support")], phones=PHONES_FAST),
                         0.02)
    ami = await _logged_in(raw_client, sim)
    _queue_add(ami, "support", AGENT, "add")
    await until(lambda: ami.answer("add"), timeout=2)
    for n in range(3):
        ami.send(("Action", "Originate"), ("Channel", "Local/support@ccs-in"),
                 ("Application", "Wait"), ("Data", "300"),
                 ("CallerID", f'"Caller" <+7912000000{n}>'), ("Async", "true"))
        await until(lambda: len(ami.events("AgentComplete")) == n + 1, timeout=10)
    talks = [int(e["TalkTime"]) for e in ami.events("AgentComplete")]
    assert len(set(talks)) > 1, talks  # 10-60 s drawn per call: three equal are unlikely
    assert all(10 <= t <= 61 for t in talks)


def test_when_phones_share_a_seed_then_they_draw_the_same_calls():
    one, two = Phones(PHONES), Phones(PHONES)
    draws = [one.draw() for _ in range(5)]
    assert draws == [two.draw() for _ in range(5)]
    assert len({d.answer_after for d in draws}) == 5
    assert Phones(PHONES.model_copy(update={"seed": 4})).draw() != draws[0]


def test_when_no_phones_are_configured_then_queueadd_members_keep_the_recorded_behaviour():
    pbx = Pbx(recorded_config(), Clock())
    assert pbx.behaviour("Local/4242@agents/n") == AgentBehaviour()
    assert pbx.behaviour("Local/1002@agents/n").answer_after is None  # a static member's own


async def test_when_the_demo_runs_then_every_demo_agent_can_log_in_to_each_of_its_queues(
        make_sim, raw_client):
    config, scenario = demo_pbx(Settings())
    sim = await make_sim(config, SCALE)
    ami = await _logged_in(raw_client, sim)
    wanted = [(queue, agent.interface) for agent in DEMO_AGENTS for queue, _ in agent.queues]
    for n, (queue, interface) in enumerate(wanted):
        _queue_add(ami, queue, interface, f"add{n}")
    await until(lambda: ami.answer(f"add{len(wanted) - 1}"), timeout=5)
    assert [ami.answer(f"add{n}")["Response"] for n in range(len(wanted))] == ["Success"] * len(
        wanted)
    assert set(scenario.queues) == {q.name for q in DEMO_QUEUES}
    assert scenario.calls_per_second == Settings().demo.calls_per_second
    assert config.phones is not None


async def test_when_the_demo_drives_callers_then_they_enter_the_queues_agents_logged_in_to(
        make_sim, raw_client):
    config, scenario = demo_pbx(Settings())
    sim = await make_sim(config, 0.005)
    ami = await _logged_in(raw_client, sim)
    _queue_add(ami, "billing", "Local/1003@agents/n", "add")
    await until(lambda: ami.answer("add"), timeout=2)
    run = await drive(sim, scenario.model_copy(update={"calls_per_second": 1.0, "duration": 20}))
    await until(lambda: len(ami.events("QueueCallerJoin")) == run.started, timeout=5)
    assert run.started > 5
    assert {e["Queue"] for e in ami.events("QueueCallerJoin")} == {"billing"}


async def test_when_no_agent_is_logged_in_then_demo_callers_spread_over_the_queues(make_sim):
    config, scenario = demo_pbx(Settings())
    sim = await make_sim(config, 0.002)
    joined: list[str] = []
    sim.observers.append(lambda name, body: joined.append(dict(body)["Queue"])
                         if name == "QueueCallerJoin" else None)
    run = await drive(sim, scenario.model_copy(update={"calls_per_second": 2.0, "duration": 30}))
    await until(lambda: len(joined) == run.started, timeout=5)
    assert len(set(joined)) > 3, joined
