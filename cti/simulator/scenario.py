"""Scenario driver: callers arriving at a rate into one queue of N agents (benchmarks), or into
several queues whose agents log in from the desktop (the demo), or a script of calls whose
waits, talks and transfers are given (tests that work their figures out by hand: `play`)."""
from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel, Field

from cti.simulator.calls import new_channel, new_state, local_bridge
from cti.simulator.originate import inbound_call, run_caller
from cti.simulator.pbx import Pbx, PbxConfig
from cti.simulator.agent_phones import PhoneBehaviour
from cti.simulator.queues import AgentBehaviour, MemberConfig, QueueConfig
from cti.simulator.server import Simulator

# Demo names only: generated people, never real consumers.
_FIRST = ("Анна", "Борис", "Вера", "Глеб", "Дарья", "Егор", "Жанна", "Илья", "Кира", "Лев")
_LAST = ("Иванова", "Орлов", "Соколова", "Морозов", "Волкова", "Лебедев", "Козлова", "Новиков")
_INTENTS = ("readings", "balance", "outage", "debt", "other")


class ScenarioSettings(BaseModel):
    queue: str = Field("support", description="Queue the callers enter.")
    queues: list[str] = Field(
        [], description="Queues the callers enter instead of `queue`: each caller picks one "
        "that has a member when any has (see pick_queue).")
    agents: int = Field(5, ge=1, description="Static members of the queue.")
    strategy: str = Field("leastrecent", description="ringall | leastrecent | rrmemory | fewestcalls")
    calls_per_second: float = Field(0.5, gt=0, description="Mean arrival rate (PBX seconds).")
    duration: float = Field(60.0, gt=0, description="PBX seconds during which callers arrive.")
    answer_after: float = Field(2.0, description="Mean ring time before an agent answers.")
    talk_mean: float = Field(20.0, description="Mean talk time before the agent hangs up.")
    patience_mean: float = Field(40.0, description="Mean caller patience from IVR answer.")
    ring_timeout: float = Field(15.0, description="Member ring timeout (queues.conf timeout).")
    seed: int | None = Field(None, description="Random seed for a repeatable run.")


def scenario_config(s: ScenarioSettings, rng: random.Random) -> PbxConfig:
    members = [MemberConfig(
        interface=f"Local/{1001 + i}@agents/n", name=f"{rng.choice(_FIRST)} {rng.choice(_LAST)}",
        behaviour=AgentBehaviour(answer_after=max(0.1, rng.expovariate(1 / s.answer_after)),
                                 talk=max(1.0, rng.expovariate(1 / s.talk_mean))))
        for i in range(s.agents)]
    return PbxConfig(queues=[QueueConfig(name=s.queue, strategy=s.strategy, timeout=s.ring_timeout,
                                         retry=1.0, members=members)])


def demo_config(queues: Sequence[str], phones: PhoneBehaviour) -> PbxConfig:
    """The demo's PBX: its queues without static members (agents log in from the desktop, by
    QueueAdd) and a simulated phone for every agent who does."""
    return PbxConfig(queues=[QueueConfig(name=name) for name in queues], phones=phones)


def pick_queue(pbx: Pbx, s: ScenarioSettings, rng: random.Random) -> str:
    """The caller's queue: `queue`, or one of `queues` that has a member when any has.

    Why not any of them: a person trying the demo logs in to one or two of its nine queues, and
    callers spread over all nine would reach them only every few minutes at the demo's rate.
    """
    if not s.queues:
        return s.queue
    staffed = [name for name in s.queues if (q := pbx.queues.get(name)) is not None and q.members]
    return rng.choice(staffed or s.queues)


class CallScript(BaseModel):
    """One scripted caller. Times are PBX seconds (the simulator's clock: `time_scale` makes
    them run faster than the wall clock); the wait counts from QueueCallerJoin."""

    number: str = Field(description="Caller id number (made up: never a real consumer's).")
    name: str = "Caller"
    queue: str = "support"
    at: float = Field(0.0, description="When the call comes in, after `play` starts (the IVR "
                      "answers then; QueueCallerJoin follows PbxConfig.ivr_seconds later).")
    answer_wait: float | None = Field(
        ..., description="Seconds in the queue before a member answers (a free member rings "
        "from the join and answers at this time; keep it below the queue's ring timeout); "
        "None: nobody answers.")
    abandon_after: float | None = Field(
        None, description="Seconds in the queue after which the caller hangs up unanswered "
        "(QueueCallerAbandon after a HangupRequest).")
    qtimeout: float = Field(0.0, description="Queue()'s timeout, 0: none. An unanswered caller "
                            "then times out (no HangupRequest) and hangs up abandon_after later.")
    talk: float | None = Field(10.0, description="Seconds of talk before the member hangs up "
                               "(None: the caller hangs up at abandon_after from the join).")
    transfer_to: str | None = Field(
        None, description="exten@context the member redirects the caller to (AMI Redirect, as "
        "Asterisk does it) `transfer_after` seconds into the talk, e.g. 'survey@ccs-xfer' (plays "
        "PbxConfig.extension_seconds, then hangs up) or '<queue>@ccs-queues' (joins that queue).")
    transfer_after: float = 0.0
    agent: str | None = Field(None, description="Member interface that takes this call (only "
                              "it rings; the caller waits while it is busy); None: any free.")
    account: str = ""
    intent: str = ""


async def scripted_call(sim: Simulator, script: CallScript) -> None:
    """One scripted caller, the same events as `inbound_call` (Local pair, IVR, Queue())."""
    pbx = sim.pbx
    one, two = pbx.factory.local_pair(script.queue, "ccs-in")
    two.script = script
    new_channel(pbx, one)
    new_channel(pbx, two)
    for ch in (one, two):
        ch.cid_num = ch.conn_num = script.number
        ch.cid_name = ch.conn_name = script.name
    local_bridge(pbx, one, two)
    new_state(pbx, two, 6)
    new_state(pbx, one, 6)
    patience = (pbx.config.ivr_seconds + script.abandon_after
                if script.abandon_after is not None else float("inf"))
    await run_caller(pbx, script.queue, one, two, patience, script.qtimeout, script.account,
                     script.intent)


async def play(sim: Simulator, calls: Sequence[CallScript]) -> None:
    """Start each call at its `at` (PBX seconds from now) and wait until all have ended."""
    start = sim.clock.now()
    tasks = []
    for script in sorted(calls, key=lambda c: c.at):
        await sim.clock.sleep(start + script.at - sim.clock.now())
        tasks.append(sim.spawn(scripted_call(sim, script)))
    await asyncio.gather(*tasks)


@dataclass
class ScenarioRun:
    started: int = 0


async def drive(sim: Simulator, s: ScenarioSettings, rng: random.Random | None = None) -> ScenarioRun:
    """Start callers with exponential inter-arrival times until `duration` PBX seconds passed."""
    rng = rng or random.Random(s.seed)
    run = ScenarioRun()
    end = sim.clock.now() + s.duration
    while sim.clock.now() < end:
        await sim.clock.sleep(rng.expovariate(s.calls_per_second))
        queue = pick_queue(sim.pbx, s, rng)
        n = 79120000000 + rng.randrange(10**6)
        sim.spawn(inbound_call(
            sim.pbx, queue, f"+{n}", f"{rng.choice(_FIRST)} {rng.choice(_LAST)}",
            patience=max(1.0, rng.expovariate(1 / s.patience_mean)),
            account=str(100200300000 + rng.randrange(1000)), intent=rng.choice(_INTENTS)))
        run.started += 1
    return run


async def wait_idle(sim: Simulator, timeout: float) -> bool:
    """True once every caller is done (no call task, no channel) within `timeout` wall seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (sim.tasks or sim.pbx.factory.channels) and loop.time() < deadline:
        await asyncio.sleep(0.02)
    return not sim.tasks and not sim.pbx.factory.channels
