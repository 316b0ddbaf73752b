"""``SupervisorSettings``: the supervisor board's section (env ``CCS_SUPERVISOR__*``).

The formulas these thresholds feed are in ``features/supervisor/formulas.py``.
"""
from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, PrivateAttr, field_validator, model_validator


class SupervisorSettings(BaseModel):
    timezone: str = Field(
        "Europe/Moscow", validate_default=True,
        description="The call center's time zone (IANA name): \"today\" starts at its midnight "
        "and a call belongs to the day its caller entered the queue.")
    sl_threshold: int = Field(
        20, ge=1, le=3600,
        description="Service level threshold, seconds, of a queue that has no row in the "
        "`queues` table: a call answered within it counts as in service level. A queue's own "
        "is its row's `service_level_seconds` (board and reports alike).")
    short_abandon_seconds: float = Field(
        5.0, ge=0, le=600,
        description="A caller who hangs up within this many seconds of entering the queue is a "
        "short abandon: shown apart, and left out of service level and abandon rate.")
    sl_target: float = Field(
        0.8, gt=0, le=1,
        description="Service level target, a share (0.8: 80 %): the tile's service level is "
        "green from it (unless the queue has its own in `sl_target_per_queue`).")
    sl_target_per_queue: dict[str, float] = Field(
        default_factory=dict,
        description="Service level target per queue name, a share, e.g. {\"outages\": 0.9}.")
    colour_sl_red_below: float = Field(
        0.7, ge=0, le=1,
        description="The tile's service level is red below this share (amber between it and "
        "the target).")
    colour_waiting_amber: int = Field(
        3, ge=1, description="The tile's waiting callers turn amber from this many.")
    colour_waiting_red: int = Field(
        6, ge=1, description="The tile's waiting callers turn red from this many.")
    colour_wait_amber_seconds: float | None = Field(
        None, gt=0, description="The tile's longest wait turns amber from this many seconds; "
        "None: the queue's service level threshold (that caller can no longer count in it).")
    colour_wait_red_seconds: float | None = Field(
        None, gt=0, description="The tile's longest wait turns red from this many seconds; "
        "None: three times the queue's service level threshold.")
    push_per_second: float = Field(
        4.0, gt=0, le=50,
        description="Board flushes per second at most: everything that changed since the last "
        "flush goes to each supervisor in one frame per kind (queues, agents), so a tile or row "
        "waits at most 1/this before it is sent. At 4, 100 calls a second and 50 boards: "
        "updates arrive at most 0.7 s after the PBX event (BENCHMARKS.md).")
    last_hour_seconds: int = Field(
        3600, ge=60, le=86400,
        description="Length of the board's sliding \"last hour\" window, seconds.")

    # --- the supervisor's actions, abandoned callers and callbacks (H-D) ---
    callback_due_minutes: int = Field(
        240, ge=1, le=7 * 24 * 60,
        description="A callback commitment is due this many minutes after the agent records "
        "it, unless the agent gives another time (the service standard's 4 hours).")
    callback_outcomes: list[str] = Field(
        ["answer_given", "no_answer", "busy", "wrong_number", "not_needed"],
        description="Codes an agent may close a callback commitment with (labels are the "
        "front-end's).")
    spy_context: str = Field(
        "ccs-spy", pattern=r"^[A-Za-z0-9_-]+$",
        description="Dialplan context the supervisor's phone is sent to for listen / whisper / "
        "barge (dialplans/extensions.conf: ChanSpy of the agent's channel).")
    spy_ring_timeout: float = Field(
        30.0, gt=0, le=120,
        description="Seconds the supervisor's phone rings for a listen / whisper / barge or a "
        "call back before the PBX gives up.")
    abandoned_limit: int = Field(
        500, ge=10, le=10_000,
        description="Most abandoned calls the board lists (today's, newest first).")

    @field_validator("callback_outcomes")
    @classmethod
    def _outcome_codes(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not re.match(r"^[a-z][a-z0-9_-]{0,31}$", v)]
        if bad or not value:
            raise ValueError(f"callback outcomes are a non-empty list of lower-case codes, "
                             f"not {bad}")
        return value

    # Loaded once when the settings are made (reading the zone file blocks: never in the loop).
    _zone: ZoneInfo | None = PrivateAttr(None)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    def model_post_init(self, context: object) -> None:
        self._zone = ZoneInfo(self.timezone)

    @model_validator(mode="before")
    @classmethod
    def _no_thresholds_per_queue(cls, data: object) -> object:
        # Ignoring it would silently count a 30 s queue with 20 s: say where it went.
        if isinstance(data, dict) and "sl_threshold_per_queue" in data:
            raise ValueError("sl_threshold_per_queue is gone: a queue's service level threshold "
                             "is its row's queues.service_level_seconds")
        return data

    @field_validator("sl_target_per_queue")
    @classmethod
    def _targets(cls, value: dict[str, float]) -> dict[str, float]:
        if any(not 0 < v <= 1 for v in value.values()):
            raise ValueError("service level targets are shares above 0 and at most 1")
        return value

    @model_validator(mode="after")
    def _colours_in_order(self) -> SupervisorSettings:
        if self.colour_waiting_red < self.colour_waiting_amber:
            raise ValueError("colour_waiting_red must not be below colour_waiting_amber")
        amber, red = self.colour_wait_amber_seconds, self.colour_wait_red_seconds
        if amber is not None and red is not None and red < amber:
            raise ValueError("colour_wait_red_seconds must not be below colour_wait_amber_seconds")
        if self.colour_sl_red_below > min([self.sl_target, *self.sl_target_per_queue.values()]):
            raise ValueError("colour_sl_red_below must not be above a service level target")
        return self

    def target_for(self, queue: str) -> float:
        return self.sl_target_per_queue.get(queue, self.sl_target)

    def zone(self) -> ZoneInfo:
        assert self._zone is not None
        return self._zone
