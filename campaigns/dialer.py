"""One robocall try to the PBX: the Originate (through cti/) and the message it carries.

``Originate`` Async, ``Channel: Local/<digits>@ccs-robocall-callee``, ``Context: ccs-robocall``,
ActionID ``ccs-robocall-<attempt>-<try>`` and the variables dialplans/robocall.conf reads
(``CCS_ATTEMPT`` first). Only the answer "successfully queued" is awaited here; the call's fate
comes later as events (outcomes.py via the pacer). What a failed send means for the try:

- a message it cannot say (``MessageError``: a prompt with no recording, a line too long for
  the AMI): nothing is sent, the try ends ``failed``;
- ``NotConnected``: the action never left this process, nobody is called: the claim is undone;
- an error answer (the PBX refused the Originate): nobody is called: the try ends ``failed``;
- ``LinkLost`` / ``ActionTimeout``: the PBX may have taken it: the try stays ``dialing`` and
  the reconciliation settles it with what the PBX reports (never dialled again blindly).
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from decimal import Decimal
from typing import Any

from campaigns.attempts import Claimed
from campaigns.models import (AddressPart, AmountPart, Campaign, DatePart, ListenerOptions,
                              PromptPart, StoredCampaign)
from campaigns.settings import CampaignSettings
from cti.actions import AmiActions, originate
from cti.errors import ActionFailed, ActionTimeout, LinkLost, NotConnected
from ivr.prompts import Prompt, join, load
from ivr.sounds import streets

log = logging.getLogger(__name__)

CALLEE_CONTEXT = "ccs-robocall-callee"
ROBOCALL_CONTEXT = "ccs-robocall"
# Campaigns speak Russian (dialplans/robocall.conf sets the channel's language to it); every
# file comes from this prompt module, so the sound set (ivr/sounds) builds all of them.
LANG = "ru"
PROMPTS = load(LANG)
# Asterisk's manager reads a line into 1025 bytes and drops a longer one (manager.c inbuf), so
# CCS_PARTS names the set's usual folders by one letter (dialplans/robocall.conf hard-codes
# them, like the channel's language): every template with any sum fits with room to spare (the
# longest, every phrase with two sums of a billion, takes about half); a longer one is refused.
AMI_LINE = 1024
_SHORT = {"r": f"{PROMPTS.FOLDER}/robocall-", "w": f"{PROMPTS.WORDS}/", "s": f"{streets.FOLDER}/"}

SENT, NOT_SENT, REFUSED, UNKNOWN = "sent", "not_sent", "refused", "unknown"


class MessageError(ValueError):
    """The campaign's message cannot be said (an unknown prompt, too long for one Originate)."""


def _kopecks(params: dict[str, Any], service: str | None) -> int | None:
    """The account's debt frozen at start (store.start: ``debt_kopecks``, and per service
    ``debt_by_service``)."""
    value = (params.get("debt_by_service") or {}).get(service) if service else \
        params.get("debt_kopecks")
    return int(value) if value is not None else None


def known_prompts() -> list[str]:
    """The names a message's ``prompt`` parts may use: the recorded robocall phrases."""
    return sorted(PROMPTS.ROBOCALL_MESSAGES)


def unknown_prompts(spec: Campaign) -> list[str]:
    """The message's prompt names with no recording, in order, each once (a campaign naming
    one could never be said: every try would end ``failed``)."""
    names = [p.name for p in spec.message if isinstance(p, PromptPart)]
    return list(dict.fromkeys(n for n in names if n not in PROMPTS.ROBOCALL_MESSAGES))


def street_of(campaign: StoredCampaign, params: dict[str, Any]) -> streets.Street | None:
    """The street the message names (it has an address part), None if it names none."""
    if not any(isinstance(p, AddressPart) for p in campaign.spec.message):
        return None
    return streets.parse(str(params.get("street") or ""))


async def recorded_streets(campaign: StoredCampaign, params: dict[str, Any],
                           settings: CampaignSettings) -> frozenset[str]:
    """The keys of the message's street recordings the sound set has, looked at per call: a
    recording added during a campaign is said from the next call on, and a file that is not
    there is never named (Asterisk would skip it and the listener hear a gap)."""
    street = street_of(campaign, params)
    if street is None or not await asyncio.to_thread(streets.recorded, settings.sounds_dir,
                                                     street.key):
        return frozenset()
    return frozenset({street.key})


def _address(params: dict[str, Any], recorded: Collection[str]) -> list[Prompt]:
    """«улица <the street's recording>, дом <number>»; the house number alone when the street
    has no recording (ivr/sounds/streets.py)."""
    said: list[Prompt] = []
    street = streets.parse(str(params.get("street") or ""))
    if street is not None and street.key in recorded:
        if street.kind is not None:
            said.append(PROMPTS.ROBOCALL_STREET_KINDS[street.kind])
        said.append(street.prompt())
    house = str(params.get("house", "")).strip()
    digits = "".join(ch for ch in house.split("/")[0] if ch.isdigit())
    if digits:
        said += [PROMPTS.ROBOCALL_HOUSE, PROMPTS.number(int(digits))]
    return said


def message(campaign: StoredCampaign, params: dict[str, Any],
            recorded: Collection[str] = ()) -> Prompt:
    """What the callee hears before the keys, as files of the sound set; ``recorded``: the
    street keys whose recordings the set has (recorded_streets)."""
    out: list[Prompt] = []
    for part in campaign.spec.message:
        if isinstance(part, PromptPart):
            try:
                out.append(PROMPTS.ROBOCALL_MESSAGES[part.name])
            except KeyError:
                raise MessageError(f"no recording for the prompt {part.name!r}") from None
        elif isinstance(part, AmountPart):
            kopecks = _kopecks(params, part.service)
            if kopecks is not None:
                # The IVR's words (рубль/рубля/рублей, одна/две копейки): one recording per word.
                out.append(PROMPTS.money(Decimal(max(0, kopecks)) / 100))
        elif isinstance(part, DatePart):
            out.append(PROMPTS.day_and_month(part.value))
        elif isinstance(part, AddressPart):
            out += _address(params, recorded)
    return join(*out)


def _part(file: str) -> str:
    for kind, folder in _SHORT.items():
        if file.startswith(folder):
            return f"{kind}:{file[len(folder):]}"
    return f"p:{file}"


def message_parts(campaign: StoredCampaign, params: dict[str, Any],
                  recorded: Collection[str] = ()) -> str:
    """The message as CCS_PARTS: ``r:<robocall phrase>``, ``w:<word>``, ``s:<street>`` or
    ``p:<file>`` joined by ``^`` (see dialplans/robocall.conf)."""
    return "^".join(_part(file) for file in message(campaign, params, recorded).files)


def keys_prompt(options: ListenerOptions) -> Prompt:
    """The options the campaign offers, each with its key: what Read plays while it listens."""
    offered = ((PROMPTS.ROBOCALL_KEY_CONFIRM, options.confirm_key),
               (PROMPTS.ROBOCALL_KEY_OPERATOR, options.operator_key),
               (PROMPTS.ROBOCALL_KEY_OPT_OUT, options.opt_out_key))
    return join(*(join(say, PROMPTS.number(int(key))) for say, key in offered if key))


def originate_action(claimed: Claimed, campaign: StoredCampaign, settings: CampaignSettings,
                     recorded: Collection[str] = ()) -> dict[str, Any]:
    spec = campaign.spec
    digits = "".join(ch for ch in claimed.phone if ch.isdigit())
    variables = {
        "CCS_ATTEMPT": str(claimed.attempt_id), "CCS_TRY": str(claimed.try_no),
        "CCS_CAMPAIGN": str(campaign.id),
        "CCS_PARTS": message_parts(campaign, claimed.params, recorded),
        "CCS_KEYS": "&".join(keys_prompt(spec.options).files),
        "CCS_OPERATOR_KEY": spec.options.operator_key or "",
        "CCS_OPT_OUT_KEY": spec.options.opt_out_key or "",
        "CCS_TARGET_QUEUE": spec.pacing.target_queue or "",
        "CCS_AMD": "1" if settings.answering_machine_detection else "0",
    }
    for name, value in variables.items():
        if len(f"Variable: {name}={value}\r\n".encode()) > AMI_LINE:
            raise MessageError(f"{name} is too long for one AMI line ({len(value)} characters)")
    action = originate(f"Local/{digits}@{CALLEE_CONTEXT}", context=ROBOCALL_CONTEXT, exten="s",
                       caller_id=settings.caller_id, timeout_ms=settings.ring_seconds * 1000,
                       variables=variables)
    action["ActionID"] = claimed.action_id
    return action


async def send(actions: AmiActions, claimed: Claimed, campaign: StoredCampaign,
               settings: CampaignSettings) -> str:
    """SENT, NOT_SENT (undo the claim), REFUSED (the try failed) or UNKNOWN (reconcile)."""
    recorded = await recorded_streets(campaign, claimed.params, settings)
    try:
        action = originate_action(claimed, campaign, settings, recorded)
    except MessageError as exc:  # nobody is called: the try ends failed, the reason in the log
        log.warning("robocall attempt %d of campaign %d: %s", claimed.attempt_id, campaign.id,
                    exc)
        return REFUSED
    try:
        await actions.run(action)
        return SENT
    except NotConnected:
        return NOT_SENT
    except ActionFailed as exc:
        log.warning("robocall attempt %d: Originate refused: %s", claimed.attempt_id, exc)
        return REFUSED
    except (LinkLost, ActionTimeout):
        return UNKNOWN
