"""Replay of the real Asterisk 22 recordings through the tracker.

Expected lists are written by hand from the scenario descriptions in
ami-captures/asterisk-22-recorded/README.md (who rings, who answers, who hangs up, in which
order app_queue reports it), not copied from the tracker's output.
"""
from __future__ import annotations

from cti.snapshot import PbxSnapshot
from state.events import DomainEvent

from .replay import RECORDED, list_answer, messages, recorded, run


def key(e: DomainEvent) -> tuple:
    """The part of an event a scenario description can state."""
    k = e.kind
    if k == "call_started":
        return (k, e.linkedid)
    if k == "originate_result":
        return (k, e.action_id, e.outcome)
    if k == "call_offered":
        return (k, e.queue, e.caller_number, e.vars)
    if k == "agent_ringing":
        return (k, e.queue, e.interface, e.caller_number, e.vars)
    if k == "agent_ring_no_answer":
        return (k, e.queue, e.interface, e.ring_time)
    if k == "call_answered":
        return (k, e.queue, e.interface, e.hold_time)
    if k == "agent_completed":
        return (k, e.queue, e.interface, e.reason, e.talk_time)
    if k == "call_ended":
        return (k, e.reason, e.talk_time)
    if k in ("member_state_changed", "member_added"):
        m = e.member
        return (k, m.interface.split("/")[1].split("@")[0], m.status_text, m.paused,
                m.paused_reason, *(("in_call",) if m.in_call else ()))
    if k == "member_removed":
        return (k, e.interface.split("/")[1].split("@")[0])
    if k in ("caller_left_queue",):
        return (k, e.queue)
    if k == "call_abandoned":
        return (k, e.queue, e.wait)
    if k == "call_transferred":
        return (k, e.how, e.from_queue, e.target)
    if k == "pbx_restarting":
        return (k, e.restart)
    return (k,)


def keys(events: list[DomainEvent]) -> list[tuple]:
    return [key(e) for e in events]


def test_when_caller_hangs_up_after_answer_then_events_tell_the_whole_story():
    tracker, events = run(messages(recorded("01_answered")))
    ivr = {"CCS_ACCOUNT": "100200300401", "CCS_INTENT": "readings"}
    assert keys(events) == [
        ("call_started", "1795332795.0"),
        ("originate_result", "01_answered-2", "answered"),
        ("call_offered", "support", "+79120000001", ivr),
        ("agent_ringing", "support", "Local/1002@agents/n", "+79120000001", ivr),
        ("member_state_changed", "1002", "in_use", False, ""),
        ("agent_ringing", "support", "Local/1001@agents/n", "+79120000001", ivr),
        ("member_state_changed", "1001", "in_use", False, ""),
        ("caller_left_queue", "support"),
        ("call_answered", "support", "Local/1001@agents/n", 2.0),
        # Asterisk sends nothing when InCall turns on: the tracker sets it at AgentConnect,
        # and clears it when the member's part ends.
        ("member_state_changed", "1001", "in_use", False, "", "in_call"),
        ("member_state_changed", "1002", "not_in_use", False, ""),
        ("agent_completed", "support", "Local/1001@agents/n", "caller", 3.0),
        ("member_state_changed", "1001", "in_use", False, ""),
        ("call_ended", "caller", 3.0),
        ("member_state_changed", "1001", "not_in_use", False, ""),
    ]
    q = tracker.queue("support")
    assert (q.waiting, q.talking, q.answered, q.abandoned) == (0, 0, 1, 0)
    assert tracker.calls() == () and tracker.channels == {}
    anna = next(m for m in q.members if m.interface == "Local/1001@agents/n")
    assert (anna.state.name, anna.state.calls_taken, anna.talking_for) == ("Anna Ivanova", 1, "")


def test_when_agent_hangs_up_first_then_call_ends_with_reason_agent():
    tracker, events = run(messages(recorded("02_agent_hangs_up")))
    ivr = {"CCS_ACCOUNT": "100200300402", "CCS_INTENT": "balance"}
    assert keys(events) == [
        ("call_started", "1795332804.6"),
        ("originate_result", "02_agent_hangs_up-2", "answered"),
        ("call_offered", "billing", "+79120000002", ivr),
        ("agent_ringing", "billing", "Local/1003@agents/n", "+79120000002", ivr),
        ("member_state_changed", "1003", "in_use", False, ""),
        ("agent_ringing", "billing", "Local/1004@agents/n", "+79120000002", ivr),
        ("member_state_changed", "1004", "in_use", False, ""),
        ("caller_left_queue", "billing"),
        ("call_answered", "billing", "Local/1003@agents/n", 2.0),
        ("member_state_changed", "1003", "in_use", False, "", "in_call"),
        ("member_state_changed", "1004", "not_in_use", False, ""),
        ("agent_completed", "billing", "Local/1003@agents/n", "agent", 3.0),
        ("member_state_changed", "1003", "in_use", False, ""),
        ("member_state_changed", "1003", "not_in_use", False, ""),
        ("call_ended", "agent", 3.0),
    ]
    assert tracker.calls() == ()


def test_when_nobody_answers_and_caller_gives_up_then_call_is_abandoned():
    tracker, events = run(messages(recorded("03_abandon")))
    ivr = {"CCS_ACCOUNT": "100200300403", "CCS_INTENT": "outage"}
    assert keys(events) == [
        ("call_started", "1795332814.12"),
        ("originate_result", "03_abandon-2", "answered"),
        ("call_offered", "outages", "+79120000003", ivr),
        ("agent_ringing", "outages", "Local/1006@agents/n", "+79120000003", ivr),
        ("agent_ringing", "outages", "Local/1005@agents/n", "+79120000003", ivr),
        ("member_state_changed", "1006", "in_use", False, ""),
        ("member_state_changed", "1005", "in_use", False, ""),
        ("call_abandoned", "outages", 4.0),
        ("caller_left_queue", "outages"),
        ("call_ended", "abandoned", 0.0),
        ("member_state_changed", "1006", "not_in_use", False, ""),
        ("member_state_changed", "1005", "not_in_use", False, ""),
    ]
    q = tracker.queue("outages")
    assert (q.waiting, q.talking, q.answered, q.abandoned) == (0, 0, 0, 1)
    assert all(m.ringing_for == "" for m in q.members)


def test_when_first_member_does_not_answer_then_it_is_auto_paused_and_next_one_answers():
    tracker, events = run(messages(recorded("04_ring_no_answer")))
    ivr = {"CCS_ACCOUNT": "100200300404", "CCS_INTENT": "meter-replace"}
    assert keys(events) == [
        ("call_started", "1795333374.6"),
        ("originate_result", "04_ring_no_answer-2", "answered"),
        ("call_offered", "meters", "+79120000004", ivr),
        ("agent_ringing", "meters", "Local/1007@agents/n", "+79120000004", ivr),
        ("member_state_changed", "1007", "in_use", False, ""),
        ("agent_ring_no_answer", "meters", "Local/1007@agents/n", 4.0),
        ("member_state_changed", "1007", "in_use", True, "Auto-Pause"),
        ("member_state_changed", "1007", "not_in_use", True, "Auto-Pause"),
        ("agent_ringing", "meters", "Local/1008@agents/n", "+79120000004", ivr),
        ("member_state_changed", "1008", "in_use", False, ""),
        ("caller_left_queue", "meters"),
        ("call_answered", "meters", "Local/1008@agents/n", 6.0),
        ("member_state_changed", "1008", "in_use", False, "", "in_call"),
        ("agent_completed", "meters", "Local/1008@agents/n", "caller", 3.0),
        ("member_state_changed", "1008", "in_use", False, ""),
        ("call_ended", "caller", 3.0),
        ("member_state_changed", "1008", "not_in_use", False, ""),
        ("member_state_changed", "1007", "not_in_use", False, ""),
    ]
    zhanna = next(m for m in tracker.members() if m.interface == "Local/1007@agents/n")
    assert zhanna.state.paused is False


def test_when_members_are_managed_then_adds_pauses_penalty_and_removals_follow():
    tracker, events = run(messages(recorded("05_member_management")))
    assert keys(events) == [
        ("member_added", "1010", "not_in_use", True, "not-ready"),
        ("member_added", "1011", "not_in_use", False, ""),
        ("member_state_changed", "1010", "not_in_use", False, ""),
        ("member_state_changed", "1011", "not_in_use", True, "lunch"),
        ("member_state_changed", "1011", "in_use", True, "lunch"),
        ("member_state_changed", "1011", "not_in_use", True, "lunch"),
        ("member_state_changed", "1011", "not_in_use", False, "back"),
        ("member_state_changed", "1009", "not_in_use", True, "training"),
        ("member_state_changed", "1010", "not_in_use", False, ""),  # penalty 1 -> 3
        ("member_removed", "1010"),
        ("member_removed", "1011"),
        ("member_state_changed", "1009", "not_in_use", False, ""),
    ]
    assert [m.interface for m in tracker.members()] == ["Local/1009@agents/n"]


def test_when_status_lists_are_taken_mid_call_then_snapshot_matches_the_tracker():
    msgs = messages(recorded("06_status_lists"))
    cut = next(i for i, m in enumerate(msgs) if m.get("ActionID") == "06_status_lists-11"
               and m.get("Event") == "StatusComplete")
    tracker, _ = run(msgs[: cut + 1])
    snap = PbxSnapshot.from_messages(
        list_answer(msgs, "06_status_lists-6") + list_answer(msgs, "06_status_lists-10")
        + list_answer(msgs, "06_status_lists-11"))
    assert set(snap.channels) == set(tracker.channels)
    entries = [(e.uniqueid, e.position) for e in tracker.queue("common").entries]
    assert entries == [(e.uniqueid, e.position) for e in snap.entries if e.queue == "common"]
    olga = next(m for m in tracker.members() if m.interface == "Local/1013@agents/n")
    assert olga.state.paused and olga.state.paused_reason == "break"
    resync_events = tracker.resync(snap)
    assert [e for e in resync_events if e.kind in ("call_ended", "caller_left_queue")] == []
    tracker, events = run(msgs[cut + 1:], tracker)
    assert tracker.calls() == () and tracker.queue("common").waiting == 0
    _, all_events = run(msgs)
    by_call = {e.linkedid: e.caller_number for e in all_events if e.kind == "call_offered"}
    # Olga (1013) is paused, so Nikita (1012) takes the first caller and the two others,
    # finding nobody free, hang up while waiting.
    assert {by_call[e.linkedid]: e.interface for e in all_events if e.kind == "call_answered"} == {
        "+79120000011": "Local/1012@agents/n"}
    assert sorted(by_call[e.linkedid] for e in all_events if e.kind == "call_abandoned") == [
        "+79120000012", "+79120000013"]
    assert not any(e.kind == "agent_ringing" and e.interface == "Local/1013@agents/n"
                   for e in all_events)
    olga = next(m for m in tracker.members() if m.interface == "Local/1013@agents/n")
    assert not olga.state.paused


def test_when_originates_end_differently_then_each_outcome_is_named():
    _, events = run(messages(recorded("07_originate_outcomes")))
    outcomes = [(e.reason_code, e.outcome) for e in events if e.kind == "originate_result"]
    assert outcomes == [(4, "answered"), (5, "busy"), (8, "congestion"), (3, "no_answer"),
                        (0, "failed")]
    failed = [e for e in events if e.kind == "originate_result" and e.outcome != "answered"]
    assert {e.uniqueid for e in failed} == {""}
    user = [e for e in events if e.kind == "user_event"]
    assert [(u.name, u.fields["Attempt"], u.fields["Result"]) for u in user] == [
        ("CcsOutcome", "42", "confirmed")]


def test_when_five_callers_compete_then_each_gets_the_verdict_of_the_scenario():
    tracker, events = run(messages(recorded("08_concurrent")))
    by_call = {e.linkedid: e.caller_number for e in events if e.kind == "call_offered"}
    answered = {by_call[e.linkedid]: e.interface.split("/")[1].split("@")[0]
                for e in events if e.kind == "call_answered"}
    ended = {by_call[e.linkedid]: e.reason for e in events if e.kind == "call_ended"}
    abandoned = {by_call[e.linkedid]: e.wait for e in events if e.kind == "call_abandoned"}
    # Galina hangs up 4 s in, talking to Pavel (rings 1 s); Boris gets Raisa (rings 3 s) and
    # hangs up at 9 s; Denis waits for Pavel, who hangs up after ~4 s of talk; Elena's Queue()
    # times out at 7 s (app_queue sends QueueCallerAbandon for it too, but no HangupRequest
    # came first: a timeout, not an abandon); Alexey only ever gets Semyon, who never
    # answers (fewestcalls keeps choosing him), and hangs up at 25 s.
    assert answered == {"+79120000023": "1014", "+79120000022": "1015", "+79120000024": "1014"}
    assert ended == {"+79120000021": "abandoned", "+79120000022": "caller",
                     "+79120000023": "caller", "+79120000024": "agent",
                     "+79120000025": "timeout"}
    assert abandoned == {"+79120000021": 24.0}
    left = {by_call[e.linkedid]: e.reason for e in events if e.kind == "caller_left_queue"}
    assert left == {"+79120000021": "", "+79120000022": "", "+79120000023": "",
                    "+79120000024": "", "+79120000025": "timeout"}
    assert {e.interface for e in events if e.kind == "agent_ring_no_answer"} == {
        "Local/1016@agents/n"}
    q = tracker.queue("debt")
    assert (q.waiting, q.talking, q.answered, q.abandoned, q.timed_out) == (0, 0, 3, 1, 1)
    assert tracker.calls() == () and tracker.member_channels == {}
    assert all(m.ringing_for == "" and m.talking_for == "" for m in q.members)


def test_when_caller_is_redirected_then_blind_transferred_then_nothing_leaks():
    tracker, events = run(messages(recorded("09_transfer")))
    wanted = {"call_transferred", "agent_completed", "call_ended", "call_answered"}
    assert [key(e) for e in events if e.kind in wanted] == [
        ("call_answered", "frontdesk", "Local/1017@agents/n", 1.0),
        # The caller's BridgeLeave already names where the Redirect sent it.
        ("call_transferred", "redirect", "frontdesk", "escalation@ccs-xfer"),
        ("call_answered", "escalation", "Local/1018@agents/n", 2.0),
        ("agent_completed", "escalation", "Local/1018@agents/n", "caller", 6.0),
        # The late AgentComplete of the first queue: the member talked 2 s, not 10.
        ("agent_completed", "frontdesk", "Local/1017@agents/n", "caller", 2.0),
        ("call_ended", "caller", 8.0),
        ("call_answered", "frontdesk", "Local/1017@agents/n", 1.0),
        ("call_transferred", "blind", "frontdesk", "survey@ccs-xfer"),
        ("agent_completed", "frontdesk", "Local/1017@agents/n", "transfer", 2.0),
        ("call_ended", "transfer", 2.0),
    ]
    assert tracker.calls() == () and tracker.member_channels == {}
    for q in tracker.queues():
        assert (q.waiting, q.talking) == (0, 0)


def test_when_pbx_restarts_then_resync_drops_pause_and_dynamic_member():
    msgs = messages(recorded("10_restart"))
    restart = next(i for i, m in enumerate(msgs) if m.get("Event") == "Shutdown")
    tracker, events = run(msgs[: restart + 1])
    assert tracker.status()["stale"] is True
    assert key(events[-1]) == ("pbx_restarting", True)
    before = {m.interface: m.state.paused for m in tracker.members()}
    assert before == {"Local/1001@agents/n": True, "Local/1099@agents/n": False}
    assert "pbx_booted" not in [e.kind for e in events]  # the FullyBooted after Login
    seen = len(events)
    tracker, _ = run(msgs[restart + 1:], tracker)  # the tracker still publishes into `events`
    assert [e.uptime for e in events[seen:] if e.kind == "pbx_booted"] == [0.0]  # the boot
    second_status = [m for m in msgs[restart + 1:]
                     if m.get("Event") in ("QueueParams", "QueueMember", "QueueStatusComplete")]
    changes = tracker.resync(PbxSnapshot.from_messages(second_status))
    assert keys(changes) == [
        ("member_removed", "1099"),
        ("member_state_changed", "1001", "not_in_use", False, ""),
        ("member_added", "1002", "not_in_use", False, ""),
    ]
    assert tracker.status()["stale"] is False
    assert sorted(m.interface for m in tracker.members()) == [
        "Local/1001@agents/n", "Local/1002@agents/n"]


def test_when_the_call_starts_on_an_originated_local_channel_then_it_has_the_caller_number():
    # agi/asterisk-22-recorded/01: Originate of Local/s@ccs-ivr with CallerID <+79120000009>.
    # Newchannel of both halves says <unknown>; NewCallerid on ;1 brings the number.
    path = RECORDED.parents[1] / "agi" / "asterisk-22-recorded"
    _, events = run(messages(path / "01_keyed_identify_reading_transfer.ami.txt"))
    (started,) = [e for e in events if e.kind == "call_started"]
    assert (started.linkedid, started.channel, started.caller_number, started.caller_name) == (
        "1796285450.24", "Local/s@ccs-ivr-0000000c;1", "+79120000009", "Test caller")
    # One call, one id: every call event names the Linkedid (the ;1 half's Uniqueid), never
    # the Uniqueid of the ;2 half the IVR's AGI runs on (1796285450.25).
    assert {e.linkedid for e in events if hasattr(e, "linkedid")} == {"1796285450.24"}
    assert [e.kind for e in events if hasattr(e, "linkedid")][0] == "call_started"
