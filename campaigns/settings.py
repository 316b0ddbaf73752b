"""``CampaignSettings``: the robocall campaigns' section (env ``CCS_CAMPAIGNS__*``).

The contact rules here are always on: every campaign of every type obeys them, and a campaign
can only narrow them (its own daily window), never widen them. Defaults follow the Russian
debt-collection limits (Federal Law 230-FZ, art. 7): calls on working days 08:00-22:00 and on
weekends and public holidays 09:00-20:00 in the consumer's local time, at most 1 call a day,
2 a week and 8 a month per consumer. Times are ``HH:MM`` in the consumer's time zone
(``accounts.timezone``); a window's end is exclusive (22:00 itself is outside).
"""
from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_validator

_RESULTS = Literal["answered", "busy", "no_answer", "congestion", "failed", "machine"]


class CampaignSettings(BaseModel):
    # Calling hours (consumer's local time); debt reminders and routine notices share them.
    workday_start: time = Field(
        time(8, 0), description="Earliest local time of a call on a working day.")
    workday_end: time = Field(
        time(22, 0), description="Local time a working day's calls stop (exclusive).")
    dayoff_start: time = Field(
        time(9, 0), description="Earliest local time of a call on a weekend or public holiday.")
    dayoff_end: time = Field(
        time(20, 0), description="Local time a weekend's or holiday's calls stop (exclusive).")
    # Outage alerts are urgent and short-lived: their own window, every day alike.
    outage_start: time = Field(
        time(8, 0), description="Earliest local time of an outage alert, any day.")
    outage_end: time = Field(
        time(22, 0), description="Local time outage alerts stop (exclusive), any day.")
    holidays_country: str = Field(
        "RU", pattern=r"^[A-Z]{2}$",
        description="Country whose public holidays and transferred working days (the "
        "`holidays` package) decide which hours apply.")

    # Caps per consumer (all their accounts) and per number (whoever it belongs to: a family's
    # or a landlord's phone), counted over every campaign.
    daily_cap: int = Field(1, ge=0, description="Most calls to one consumer per local day.")
    weekly_cap: int = Field(2, ge=0, description="Most calls to one consumer per week.")
    monthly_cap: int = Field(8, ge=0, description="Most calls to one consumer per month.")
    cap_window: Literal["rolling", "calendar"] = Field(
        "rolling",
        description="`rolling`: a week is today and the 6 local days before, a month is the "
        "local days since the same date last month (stricter); `calendar`: Monday-Sunday "
        "weeks and calendar months.")
    cap_counts_results: list[_RESULTS] = Field(
        ["answered", "machine"],
        description="Dial results that count toward the caps; a dial whose result is not yet "
        "known always counts (busy or unanswered dials may then be retried the same day).")
    min_gap_minutes: int = Field(
        120, ge=0, description="Least minutes between two dials to one consumer, across all "
        "campaigns (retries included).")
    gap_ignores_results: list[_RESULTS] = Field(
        ["congestion", "failed"],
        description="Dial results that never reached the consumer's phone and so do not start "
        "the minimum gap.")
    outage_alerts_obey_caps: bool = Field(
        True, description="Whether outage alerts count against and are held by the caps and "
        "the minimum gap (they always count toward other campaigns' caps).")

    kill_switch: bool = Field(
        False, description="Stops every campaign's dialling in this deployment (a restart "
        "lifts it); supervisors also have a run-time switch kept in PostgreSQL.")
    operator_abandon_cap: float = Field(
        0.03, ge=0, le=1, description="Largest share of listeners who pressed 0 for an "
        "operator and hung up waiting; a progressive campaign slows down above it.")
    default_timezone: str = Field(
        "Europe/Moscow",
        description="Time zone of a campaign's own schedule when it names none.")
    preview_sample_size: int = Field(
        20, ge=0, le=200, description="Targets shown as a sample in a campaign's preview.")
    progress_push_seconds: float = Field(
        2.0, gt=0, le=60, description="Seconds between two pushes of a campaign's progress to "
        "supervisors (only when it changed).")

    # Dialling (campaigns/pacer.py, dialer.py, reconcile.py).
    caller_id: str = Field(
        '"Energosbyt" <88005550100>', description="CallerID of robocalls (the utility's "
        "number the consumer sees).")
    ring_seconds: int = Field(
        30, ge=5, le=120, description="Seconds a robocall rings before it counts as not "
        "answered (the Originate's Timeout).")
    sounds_dir: Path = Field(
        Path("build/sounds"), description="The sound set Asterisk plays (`python -m ivr.sounds "
        "--target`), as this server sees it: a robocall says a street only when its recording "
        "`ccs/ru/streets/<key>.wav` is there, else the house number alone.")
    answering_machine_detection: bool = Field(
        False, description="Run Asterisk's AMD() on answered robocalls; a machine ends the "
        "call with the outcome `machine` (retried per the campaign's rules).")
    pacer_tick: float = Field(
        0.05, gt=0, le=1, description="Seconds between two rounds of the pacer (each round "
        "dials what the campaigns' rates and channels allow).")
    claim_concurrency: int = Field(
        3, ge=1, le=16, description="Claims a pacer round runs side by side (each checks the "
        "contact rules of its attempts one after another, in its own transaction).")
    campaigns_refresh: float = Field(
        0.5, gt=0, le=10, description="Seconds between two reads of which campaigns run "
        "(a pause or stop also holds at once: the dial's transaction checks the state).")
    inflight_check_seconds: float = Field(
        30.0, gt=0, description="Seconds between two checks of the calls in flight for longer "
        "than that against the PBX's channels and AstDB (a safety net for a lost event; after "
        "an AMI reconnect every call in flight is checked at once).")
    untraced_grace_seconds: float = Field(
        5.0, gt=0, description="A try with neither a channel on the PBX nor an AstDB entry "
        "this long after its dial never reached the PBX: it is dialled again as a new try.")
    operator_abandon_min_requests: int = Field(
        20, ge=1, description="Operator requests a progressive campaign needs before its "
        "abandoned share may slow it down.")
    operator_wait_lapse_seconds: float = Field(
        900.0, gt=0, description="A listener sent to an operator whose queue visit has "
        "neither been answered nor abandoned this long after the request no longer counts as "
        "waiting for the progressive pacer (its end was not seen: it ended while no server "
        "led, or the event was lost).")

    @model_validator(mode="after")
    def _windows(self) -> CampaignSettings:
        for name in ("workday", "dayoff", "outage"):
            if getattr(self, f"{name}_start") >= getattr(self, f"{name}_end"):
                raise ValueError(f"{name}_start must be before {name}_end")
        return self
