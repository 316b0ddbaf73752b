"""``AgentsSettings``: the agent desktop's section (env ``CCS_AGENTS__*``).

Pause reasons are codes; their Russian labels are the front-end's (its locale file).
"""
from __future__ import annotations

import re

from pydantic import BaseModel, Field, field_validator

_CODE = r"^[a-z][a-z0-9_-]{0,31}$"


class AgentsSettings(BaseModel):
    pause_reasons: list[str] = Field(
        ["break", "lunch", "training", "meeting", "technical", "personal"],
        description="Codes an agent may give for not_ready (labels are the front-end's).")
    wrapup_seconds: int = Field(
        15, ge=0, le=3600, description="Wrap-up after a queue call, seconds (0: none), unless "
        "the queue has its own in `wrapup_per_queue`.")
    wrapup_per_queue: dict[str, int] = Field(
        default_factory=dict,
        description="Wrap-up seconds per queue name, e.g. {\"billing\": 30}.")
    disposition_required: bool = Field(
        True, description="An agent ends a wrap-up early only once the call has a disposition "
        "(the wrap-up's own timer ends it regardless).")
    wrapup_extend_max: int = Field(
        60, ge=0, le=3600, description="Most seconds an agent may add to a wrap-up (once).")
    pending_timeout: float = Field(
        10.0, gt=0, description="Seconds a readiness change may wait for the PBX's "
        "confirmation before the desktop stops showing it as pending.")
    stream_maxlen: int = Field(
        10_000, ge=100, description="Readiness/wrap-up events kept in the Redis Stream that "
        "carries them from any server process to the leader's projector.")

    dispositions: list[str] = Field(
        ["resolved", "info_given", "callback", "appeal_registered", "complaint", "wrong_number",
         "other"],
        description="Codes an agent may give a call as its outcome (labels are the front-end's).")
    clicktocall_context: str = Field(
        "ccs-callee", pattern=r"^[A-Za-z0-9_-]+$",
        description="Dialplan context click-to-call sends the agent's answered phone to; the "
        "consumer's number is the extension (dialplans/extensions.conf: ccs-callee dials it).")
    lease_ttl: float = Field(
        5.0, gt=0, le=60, description="Seconds the PBX lease (one event consumer per PBX across "
        "server processes) outlives its holder; another process takes over within about this.")
    socket_max_message_bytes: int = Field(
        16 * 1024, ge=256, description="Largest Socket.IO client message handled; a bigger one "
        "gets an `error` event and the connection stays.")
    socket_max_frame_bytes: int = Field(
        1_000_000, ge=1024, description="Largest Engine.IO frame (max_http_buffer_size); a "
        "bigger one closes that connection.")
    @field_validator("pause_reasons")
    @classmethod
    def _codes(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not re.match(_CODE, v)]
        if bad:
            raise ValueError(f"pause reasons are lower-case codes, not {bad}")
        if "wrap-up" in value or "logged_out" in value:
            raise ValueError("wrap-up and logged_out are the server's own pause reasons")
        return value

    @field_validator("dispositions")
    @classmethod
    def _disposition_codes(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not re.match(_CODE, v)]
        if bad or not value:
            raise ValueError(f"dispositions are a non-empty list of lower-case codes, not {bad}")
        return value

    @field_validator("wrapup_per_queue")
    @classmethod
    def _seconds(cls, value: dict[str, int]) -> dict[str, int]:
        if any(not 0 <= v <= 3600 for v in value.values()):
            raise ValueError("wrap-up seconds are between 0 and 3600")
        return value

    def wrapup_for(self, queue: str) -> int:
        return self.wrapup_per_queue.get(queue, self.wrapup_seconds)
