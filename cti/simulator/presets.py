"""PBX configurations: the one the Asterisk 22 recordings were made with, and a demo one."""
from __future__ import annotations

from cti.simulator.pbx import CalleeBehaviour, PbxConfig
from cti.simulator.queues import AgentBehaviour, MemberConfig, QueueConfig

NEVER = AgentBehaviour(answer_after=None)


def _m(ext: str, name: str, answer_after: float | None = 2.0, talk: float | None = None) -> MemberConfig:
    return MemberConfig(interface=f"Local/{ext}@agents/n", name=name,
                        behaviour=AgentBehaviour(answer_after=answer_after, talk=talk))


def recorded_config() -> PbxConfig:
    """queues.conf and agent behaviours of tests/data/ami/asterisk-22-recorded (strategies as
    dialplans/queues.conf sets them: tests/test_dialplans.py checks both)."""
    return PbxConfig(queues=[
        QueueConfig(name="support", members=[_m("1001", "Anna Ivanova", 2), _m("1002", "Boris Orlov", None)]),
        QueueConfig(name="billing", members=[_m("1003", "Vera Sokolova", 2, 3.4),
                                             _m("1004", "Gleb Morozov", None)]),
        QueueConfig(name="outages", members=[_m("1005", "Daria Volkova", None),
                                             _m("1006", "Egor Lebedev", None)]),
        QueueConfig(name="meters", strategy="rrmemory", timeout=4, retry=1, autopause=True,
                    members=[_m("1007", "Zhanna Kozlova", None), _m("1008", "Ilya Novikov", 1)]),
        QueueConfig(name="readings", members=[_m("1009", "Kira Popova", 1)]),
        QueueConfig(name="common", members=[_m("1012", "Nikita Semenov", 1), _m("1013", "Olga Egorova", 1)]),
        QueueConfig(name="debt", strategy="fewestcalls", timeout=5, retry=1, members=[
            _m("1014", "Pavel Kuznetsov", 1, 4), _m("1015", "Raisa Titova", 3),
            _m("1016", "Semyon Belov", None)]),
    ], callees={
        "79121110001": CalleeBehaviour(outcome="answer", answer_after=1.0, result="confirmed"),
        "79121110002": CalleeBehaviour(outcome="busy"),
        "79121110003": CalleeBehaviour(outcome="congestion"),
        "79121110004": CalleeBehaviour(outcome="noanswer"),
        "79129999999": CalleeBehaviour(outcome="nosuchexten"),
    })
