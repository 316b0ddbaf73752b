"""dialplans/robocall.conf walked as Asterisk would run it (tests/test_dialplans.py's style): the
message the dialer builds is said part by part, each key sends the one UserEvent the recorder
reads, an early hangup still reports once, a machine ends the call, and AstDB keeps the same
result for the reconciliation."""
from __future__ import annotations

import re

import pytest

from campaigns.attempts import Claimed
from campaigns.models import Campaign, StoredCampaign
from campaigns.outcomes import Keys, from_astdb, from_user_event
from campaigns.dialer import MessageError, message_parts, originate_action, send, REFUSED
from campaigns.settings import CampaignSettings
from tests.test_dialplans import DIALPLANS, extensions, sections

ROBOCALL = DIALPLANS / "robocall.conf"


def _campaign(**overrides) -> StoredCampaign:
    spec = {"name": "n", "type": "debt_reminder",
            "message": [{"kind": "prompt", "name": "debt-reminder-1"}, {"kind": "amount"},
                        {"kind": "prompt", "name": "debt-pay-by"},
                        {"kind": "date", "value": "2026-12-25"}, {"kind": "address"}],
            "pacing": {"target_queue": "debt"},
            "options": {"confirm_key": "1", "operator_key": "0", "opt_out_key": "9"}}
    spec.update(overrides)
    return StoredCampaign(id=7, state="running", spec=Campaign.model_validate(spec))


def _variables(params: dict, amd: bool = False) -> dict[str, str]:
    claimed = Claimed(42, 7, 2, "+79121110001", "ccs-robocall-42-2", params)
    action = originate_action(claimed, _campaign(),
                              CampaignSettings(answering_machine_detection=amd))
    return dict(v.split("=", 1) for v in action["Variable"])


class Walk:
    """Runs [ccs-robocall] s,1: ``key`` is what the listener presses at Read (or ""),
    ``hangup_at`` the first app during which the callee hangs up, ``amd`` AMD()'s verdict."""

    def __init__(self, variables: dict[str, str], *, key: str = "", hangup_at: str | None = None,
                 amd: str = "HUMAN") -> None:
        self.plan = extensions(ROBOCALL)
        self.vars = dict(variables)
        self.key, self.hangup_at, self.amd = key, hangup_at, amd
        self.done: list[tuple[str, str]] = []
        self.db: dict[str, str] = {}
        self.events: list[dict[str, str]] = []

    def expand(self, text: str) -> str:
        while m := re.search(r"\$\{([^{}$]*)\}", text):
            text = text[:m.start()] + self._value(m.group(1)) + text[m.end():]
        while m := re.search(r"\$\[([^\[\]]*)\]", text):
            text = text[:m.start()] + self._expr(m.group(1)) + text[m.end():]
        return text

    def _value(self, name: str) -> str:
        if m := re.fullmatch(r"FIELDQTY\((\w+),(.)\)", name):
            value = self.vars.get(m.group(1), "")
            return str(len(value.split(m.group(2)))) if value else "0"
        if m := re.fullmatch(r"CUT\((\w+),(.),(\d+)\)", name):
            parts = self.vars.get(m.group(1), "").split(m.group(2))
            n = int(m.group(3))
            return parts[n - 1] if n <= len(parts) else ""
        return self.vars.get(name, "")

    @staticmethod
    def _expr(expr: str) -> str:
        if m := re.fullmatch(r'\s*"([^"]*)"\s*(=|!=)\s*"([^"]*)"\s*', expr):
            return "1" if (m.group(1) == m.group(3)) == (m.group(2) == "=") else "0"
        m = re.fullmatch(r"\s*(-?\d+)\s*([+>])\s*(-?\d+)\s*", expr)
        assert m, f"expression this walker does not know: {expr}"
        a, op, b = int(m.group(1)), m.group(2), int(m.group(3))
        return str(a + b) if op == "+" else str(int(a > b))

    def run(self) -> "Walk":
        steps = self.plan["ccs-robocall"]["s"]
        prio = 0
        for _ in range(500):
            label, app, data = steps[prio]
            prio += 1
            if self.hangup_at is not None and app == self.hangup_at:
                self._hangup_handler()
                return self
            jump = self._app(app, data)
            if jump == "hangup":
                return self
            if jump == "queue":
                return self
            if jump is not None:
                prio = next(i for i, s in enumerate(steps) if s[0] == jump)
        raise AssertionError("the walk did not end")

    def _app(self, app: str, data: str) -> str | None:
        if app == "ExecIf":
            cond, _, inner = data.partition("?")
            if self.expand(cond) == "1":
                name, _, args = self.expand(inner).partition("(")
                return self._app(name, args.rstrip(")"))
            return None
        if app == "Exec":
            name, _, args = self.expand(data).partition("(")
            return self._app(name, args.rstrip(")"))
        if app == "Set":
            name, _, value = data.partition("=")
            value = self.expand(value)
            if name.startswith("DB("):
                self.db[self.expand(name[3:-1])] = value
            elif not name.startswith("CHANNEL("):
                self.vars[name] = value
        elif app == "GotoIf":
            cond, _, targets = data.rpartition("?")
            yes, _, no = targets.partition(":")
            target = yes if self.expand(cond) == "1" else no
            return target or None
        elif app == "Goto":
            target = self.expand(data)
            if target.startswith("ccs-queues,"):
                self.done.append(("Queue", target.split(",")[1]))
                return "queue"
            return target
        elif app in ("Playback", "SayNumber", "SayUnixTime"):
            self.done.append((app, self.expand(data)))
        elif app == "Read":
            self.done.append(("Read", self.expand(data).split(",")[1]))
            self.vars[data.split(",")[0]] = self.key
        elif app == "AMD":
            self.vars["AMDSTATUS"] = self.amd
        elif app == "UserEvent":
            name, *fields = self.expand(data).split(",")
            self.events.append({"UserEvent": name, **{k.strip(): v.strip() for k, _, v in
                                                      (f.partition(":") for f in fields)}})
        elif app == "Hangup":
            self.done.append(("Hangup", ""))
            self._hangup_handler()
            return "hangup"
        return None

    def _hangup_handler(self) -> None:
        for label, app, data in self.plan["ccs-robocall"]["h"]:
            if app == "GotoIf":
                cond, _, target = data.rpartition("?")
                if self.expand(cond) == "1":
                    return
            else:
                self._app(app, data)


PARAMS = {"debt_kopecks": 123456, "house": "12/1"}


def test_when_the_dialer_builds_a_message_then_the_dialplan_says_every_part_in_order():
    walk = Walk(_variables(PARAMS), key="1").run()
    keys = ("Read", "ccs/ru/robocall-key-confirm&ccs/ru/words/odin&"
                    "ccs/ru/robocall-key-operator&ccs/ru/words/nol&"
                    "ccs/ru/robocall-key-opt-out&ccs/ru/words/devyat")
    said = walk.done[:walk.done.index(keys)]
    words = ("odna tysyacha dvesti tridtsat chetyre rublya pyatdesyat shest kopeek "
             "dvadtsat pyatogo dekabrya").split()
    assert said == [
        ("Playback", "ccs/ru/robocall-debt-reminder-1"),
        *(("Playback", f"ccs/ru/words/{w}") for w in words[:9]),
        ("Playback", "ccs/ru/robocall-debt-pay-by"),
        *(("Playback", f"ccs/ru/words/{w}") for w in words[9:]),
        ("Playback", "ccs/ru/robocall-house"), ("Playback", "ccs/ru/words/dvenadtsat")]


@pytest.mark.parametrize("key,outcome,last", [
    ("1", "confirmed", ("Hangup", "")), ("9", "opted_out", ("Hangup", "")),
    ("0", "operator", ("Queue", "debt")), ("", "heard", ("Hangup", "")),
    ("5", "heard", ("Hangup", ""))])
def test_when_the_listener_presses_a_key_then_one_user_event_names_attempt_and_outcome(
        key, outcome, last):
    walk = Walk(_variables(PARAMS), key=key).run()
    assert walk.done[-1] == last
    assert len(walk.events) == 1
    attempt, try_no, report = from_user_event(walk.events[0])
    keys = Keys("1", "0", "9")
    assert (attempt, try_no, report.outcome(keys)) == (42, 2, outcome)
    # AstDB keeps the same result for a server that missed the event
    assert walk.db.keys() == {"ccs-robocall/7/42-2"}
    assert from_astdb(walk.db["ccs-robocall/7/42-2"]).outcome(keys) == outcome


def test_when_the_callee_hangs_up_during_the_message_then_the_h_extension_reports_once():
    walk = Walk(_variables(PARAMS), hangup_at="Playback").run()
    assert len(walk.events) == 1
    assert from_user_event(walk.events[0])[2].outcome(Keys()) == "hung_up"
    walk = Walk(_variables(PARAMS), key="1").run()  # a normal end: h adds nothing
    assert len(walk.events) == 1


def test_when_amd_hears_a_machine_then_nothing_is_played_and_the_outcome_is_machine():
    walk = Walk(_variables(PARAMS, amd=True), amd="MACHINE").run()
    assert [d for d in walk.done if d[0] != "Hangup"] == []
    assert from_user_event(walk.events[0])[2].outcome(Keys()) == "machine"
    human = Walk(_variables(PARAMS, amd=True), amd="HUMAN", key="1").run()
    assert from_user_event(human.events[0])[2].outcome(Keys()) == "confirmed"


def test_when_reading_the_callee_context_then_every_unanswered_end_is_kept_in_astdb():
    callee = extensions(ROBOCALL)["ccs-robocall-callee"]
    assert any(app == "Dial" and "@trunk" in data for _, app, data in callee["_X."])
    keep = "DB(ccs-robocall/${CCS_CAMPAIGN}/${CCS_ATTEMPT}-${CCS_TRY})=dial:${DIALSTATUS}"
    assert ("Set", keep) in [(app, data) for _, app, data in callee["h"]]
    assert from_astdb("dial:CANCEL") == "no_answer" and from_astdb("dial:BUSY") == "busy"
    # extensions.conf includes this file; the contexts the dialer names exist
    assert "#include robocall.conf" in (DIALPLANS / "extensions.conf").read_text()
    assert {"ccs-robocall", "ccs-robocall-callee"} <= sections(ROBOCALL).keys()


@pytest.mark.parametrize("kopecks,said", [
    (100, "odin rubl"), (200, "dva rublya"), (500, "pyat rubley"), (1100, "odinnadtsat rubley"),
    (2100, "dvadtsat odin rubl"), (2101, "dvadtsat odin rubl odna kopeyka"),
    (202, "dva rublya dve kopeyki"), (505, "pyat rubley pyat kopeek")])
def test_when_saying_money_then_the_russian_word_form_follows_the_number(kopecks, said):
    parts = message_parts(_campaign(message=[{"kind": "amount"}]), {"debt_kopecks": kopecks})
    assert parts == "^".join(f"w:{w}" for w in said.split())


def test_when_the_listener_opts_out_then_the_opt_out_is_confirmed_not_thanked():
    optout = Walk(_variables(PARAMS), key="9").run()
    assert optout.done[-2:] == [("Playback", "ccs/ru/robot-optout"), ("Hangup", "")]
    confirmed = Walk(_variables(PARAMS), key="1").run()
    assert confirmed.done[-2:] == [("Playback", "ccs/ru/robot-thanks"), ("Hangup", "")]


async def test_when_a_prompt_has_no_recording_or_the_line_is_too_long_then_nobody_is_called():
    campaign = _campaign(message=[{"kind": "prompt", "name": "no-such-recording"}])
    with pytest.raises(MessageError, match="no-such-recording"):
        message_parts(campaign, PARAMS)
    claimed = Claimed(42, 7, 2, "+79121110001", "ccs-robocall-42-2", PARAMS)
    # actions is never reached: the message fails before anything is sent
    assert await send(None, claimed, campaign, CampaignSettings()) == REFUSED
    # 30 sums of a billion rubles: longer than the one line Asterisk's manager reads
    huge = _campaign(message=[{"kind": "amount"}] * 30)
    params = {"debt_kopecks": 987_654_321_77}
    with pytest.raises(MessageError, match="CCS_PARTS is too long"):
        originate_action(Claimed(42, 7, 2, "+79121110001", "ccs-robocall-42-2", params), huge,
                         CampaignSettings())
