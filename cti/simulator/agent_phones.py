"""Phones the simulator plays for members added by QueueAdd (the agents who log in from a desktop).

In the demo nobody has a telephone: each logged-in agent's phone rings, answers a few seconds
later and hangs up after a while, so a browser shows the pop, the call, wrap-up and the next
call. Each call draws its own times from one seeded RNG, so a run can be repeated.
"""
from __future__ import annotations

import random

from pydantic import BaseModel, Field, model_validator

from cti.simulator.queues import AgentBehaviour


class PhoneBehaviour(BaseModel):
    """Ring, answer and talk times of a simulated phone, drawn uniformly per call."""

    answer_min: float = Field(2.0, ge=0, description="Fewest seconds a phone rings before "
                              "it answers.")
    answer_max: float = Field(5.0, ge=0, description="Most seconds a phone rings before it "
                              "answers.")
    talk_min: float = Field(15.0, gt=0, description="Shortest call before the agent hangs up, "
                            "seconds.")
    talk_max: float = Field(45.0, gt=0, description="Longest call before the agent hangs up, "
                            "seconds.")
    missed: float = Field(0.0, ge=0, le=1, description="Share of rings nobody answers (0: none).")
    seed: int = Field(1, description="Seed of the phones' random draws (a repeatable demo).")

    @model_validator(mode="after")
    def _ranges(self) -> PhoneBehaviour:
        if self.answer_min > self.answer_max or self.talk_min > self.talk_max:
            raise ValueError("each *_min must not exceed its *_max")
        return self


class Phones:
    """Draws one AgentBehaviour per question the call flow asks (one ring, one answered call)."""

    def __init__(self, behaviour: PhoneBehaviour) -> None:
        self.behaviour = behaviour
        self._rng = random.Random(behaviour.seed)

    def draw(self) -> AgentBehaviour:
        b, rng = self.behaviour, self._rng
        answer = rng.uniform(b.answer_min, b.answer_max)
        talk = rng.uniform(b.talk_min, b.talk_max)
        missed = b.missed > 0 and rng.random() < b.missed
        return AgentBehaviour(answer_after=None if missed else answer, talk=talk)
