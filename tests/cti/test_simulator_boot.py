"""The simulator's boot held to recording agi/asterisk-22-recorded/08_ami_login_during_boot:
the client's own actions of that recording replayed against a booting simulator give the same
answers, in the same order and field layouts."""
from __future__ import annotations

import re

from cti.amitext import read_capture
from tests.conftest import AGI_CAPTURES
from tests.helpers import until

from .conftest import SECRET
from .test_simulator_recordings import layout

BOOT = AGI_CAPTURES / "08_ami_login_during_boot.ami.txt"
_CLIENT = re.compile(rb"^>>> \d+\n(.*?)(?=^(?:>>>|<<<|===) \d+|\Z)", re.S | re.M)


def client_actions() -> list[list[tuple[str, str]]]:
    out = []
    for m in _CLIENT.finditer(BOOT.read_bytes()):
        fields = [line.split(": ", 1) for line in m.group(1).decode().splitlines() if line]
        out.append([(k, SECRET if k == "Secret" else v) for k, v in fields])  # our secret
    return out


# Read at import: a file read inside a test would block its event loop.
ACTIONS = client_actions()
RECORDED_ANSWERS = [m for m in read_capture(BOOT) if "_banner" not in m]


def summary(messages) -> list[tuple]:
    """What Asterisk said, in order: kind, message text and field layout. Left out: PeerStatus
    (the simulator has no SIP peers), QueueMember items (the recording's `support` had none,
    the simulator's has two) and `Timestamp` (08 ran with timestampevents off; the simulator
    stamps events as the project's manager.conf asks)."""
    out = []
    for m in messages:
        kind = m.get("Event") or m.get("Response")
        if kind and kind not in ("PeerStatus", "QueueMember"):
            fields = tuple(k for k in layout(m) if k != "Timestamp" or kind == "Success")
            out.append((kind, m.get("Message", ""), fields))
    return out


async def test_when_a_client_logs_in_during_boot_then_the_simulator_answers_like_asterisk(
        make_sim, raw_client):
    sim = await make_sim()
    await sim.restart(downtime=0.0, boot_time=0.3, shutdown=False)
    login, queue_status, ping, after_boot, logoff = ACTIONS
    client = await raw_client(sim.port)
    for action in (login, queue_status, ping):
        client.send(*action)
    await until(lambda: client.answer("boot-ping-1"), timeout=2)
    assert sim.booting
    await until(lambda: client.events("FullyBooted"), timeout=2)
    client.send(*after_boot)
    await until(lambda: client.events("QueueStatusComplete"), timeout=2)
    client.send(*logoff)
    await until(lambda: client.closed.is_set(), timeout=2)
    assert summary(client.messages()) == summary(RECORDED_ANSWERS)
    # A client logging in after the boot gets FullyBooted at once, in the other field order.
    late = await raw_client(sim.port)
    late.login()
    await until(lambda: late.events("FullyBooted"), timeout=2)
    assert layout(late.frames[1]) == ("Event", "Privilege", "Uptime", "LastReload", "Status")
