"""Talking to the caller: play prompts, take an answer by voice or by keys, with bounded tries.

Prompts are played by AGI ``STREAM FILE`` (Asterisk transcodes and finds the language's
recordings; a key press interrupts the prompt). Listening is AGI ``EXEC AudioSocket``: while
that application runs, Asterisk streams the caller's audio and keys to our AudioSocket server;
when the turn is over the server sends a hangup frame, ``AudioSocket()`` returns and the AGI
command completes. Keys work everywhere: without a speech engine, when it is busy, when the
audio stream fails, or when the caller simply presses them.

A caller is never dropped for a failure of ours or of Asterisk's: a prompt that cannot be played
is skipped, a failed or timed-out AudioSocket turns into key entry for the rest of the call
(``AgiChannel`` tells these from a real hang-up).
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal, TypeVar

from ivr.agi_protocol import AgiCommandError, AgiHangup
from ivr.audiosocket import AudioSession, AudioSocketServer
from ivr.call import CallContext
from ivr.fastagi import AgiChannel
from ivr.listen import Heard, ListenLimits, listen_turn
from ivr.prompts import Prompt
from speech import Command, NumberGrammar, SpeechBusy, parse_command

__all__ = ["Answer", "Dialog", "WantsOperator", "TooManyTries", "KEYS"]

log = logging.getLogger(__name__)

KEYS = "0123456789*#"
_APP_NOT_FOUND = -2  # EXEC's result when Asterisk has no such application
# A caller who keys a full-length entry and then the "#" the prompt asked for: the entry is over
# at the last digit (GET DATA and the listen turn return at max digits), and Asterisk hands the
# "#" to whatever command runs next (recording 04). For this long after such an entry "#" does
# not interrupt a prompt, so it cannot be taken as the answer to the next question.
_TERMINATOR_GRACE = 1.5
T = TypeVar("T")


class WantsOperator(Exception):
    """The caller asked for a person (key 0 in a menu, or said so)."""


class TooManyTries(Exception):
    """The caller gave no usable answer within the allowed tries."""


@dataclass(frozen=True)
class Answer:
    kind: Literal["dtmf", "speech", "silence"]
    digits: str = ""
    text: str = ""


class Dialog:
    def __init__(
        self,
        agi: AgiChannel,
        ctx: CallContext,
        prompts: ModuleType,
        *,
        audio: AudioSocketServer | None,
        audio_address: str,
        engine: Any | None,
        limits: ListenLimits,
        max_tries: int,
        connect_timeout: float,
        dtmf_timeout_ms: int,
        speech_lang: str | None = None,
    ) -> None:
        self.agi = agi
        self.ctx = ctx
        self.prompts = prompts
        # The language of recognition and number parsing; normally that of the prompts.
        self.lang: str = speech_lang or prompts.LANG
        self._audio = audio
        self._audio_address = audio_address
        self._engine = engine
        self._limits = limits
        self.max_tries = max_tries
        self._connect_timeout = connect_timeout
        self._dtmf_timeout_ms = dtmf_timeout_ms
        self._terminator_until = 0.0  # loop time until which "#" ends the previous entry

    async def say(self, *prompts: Prompt, interruptible: bool = False) -> str:
        """Play prompts in order; returns the key that interrupted them (if allowed) or ''."""
        for prompt in prompts:
            for name in prompt.files:
                escape = self._escape_digits() if interruptible else ""
                key = await self.agi.stream_file(name, escape)
                if key:
                    return key
        return ""

    def _late_terminator(self) -> bool:
        return asyncio.get_running_loop().time() < self._terminator_until

    def _escape_digits(self) -> str:
        return KEYS.replace("#", "") if self._late_terminator() else KEYS

    async def ask(self, prompt: Prompt, *, max_digits: int, words: tuple[str, ...] = ()) -> Answer:
        """Play ``prompt`` and take one answer: keys, speech, or silence."""
        answer = await self._ask(prompt, max_digits, words)
        if answer.kind == "dtmf" and max_digits > 1 and len(answer.digits) >= max_digits:
            self._terminator_until = asyncio.get_running_loop().time() + _TERMINATOR_GRACE
        return answer

    async def _ask(self, prompt: Prompt, max_digits: int, words: tuple[str, ...]) -> Answer:
        key = await self.say(prompt, interruptible=True)
        if key:
            return await self._rest_of_keys(key, max_digits)
        if self._audio is not None and self._engine is not None:
            heard = await self._listen(max_digits, words)
            if heard is not None:
                if heard.digits:
                    return Answer("dtmf", digits=heard.digits)
                if heard.text.strip() and heard.text.strip() != "[unk]":
                    return Answer("speech", text=heard.text)
                if heard.text.strip():
                    return Answer("speech", text="")
                return Answer("silence")
        digits, _ = await self.agi.get_data("silence/1", self._dtmf_timeout_ms, max_digits)
        return Answer("dtmf", digits=digits) if digits else Answer("silence")

    async def _rest_of_keys(self, first: str, max_digits: int) -> Answer:
        if first == "#":
            return Answer("dtmf", digits="")
        if max_digits <= 1:
            return Answer("dtmf", digits=first)
        rest, _ = await self.agi.get_data("silence/1", self._dtmf_timeout_ms, max_digits - 1)
        return Answer("dtmf", digits=first + rest)

    async def _listen(self, max_digits: int, words: tuple[str, ...]) -> Heard | None:
        """One AudioSocket turn; None when no usable stream could be had (then keys are used)."""
        assert self._audio is not None and self._engine is not None
        audio = self._audio
        session = audio.expect()
        session.keep_alive()
        run = asyncio.create_task(
            self.agi.exec("AudioSocket", f"{session.uuid},{self._audio_address}"),
            name="agi-audiosocket",
        )
        heard: Heard | None = None
        busy = False
        try:
            heard, busy = await self._hear(session, run, max_digits, words)
        finally:
            audio.forget(session)  # the hangup frame makes AudioSocket() return
            failed = await self._finish_exec(run)
        if busy:
            await self.say(self.prompts.SPEECH_BUSY)
        if heard is not None and heard.ended == "timeout" and heard.audio_seconds == 0:
            # Not one frame from the caller's line (a trunk without media while quiet): speech
            # cannot be heard on it, so keys only, without another wait per question.
            log.warning("no audio from the caller's line; keys only for this call")
            self._audio = None
        if failed or (heard is not None and heard.ended is not None and not heard.digits):
            # The stream broke off (or never carried media) before the caller was heard out:
            # what the caller said is unknown, so this answer is taken by keys.
            return None
        return heard

    async def _hear(
        self, session: AudioSession, run: asyncio.Task[Any], max_digits: int,
        words: tuple[str, ...],
    ) -> tuple[Heard | None, bool]:
        """(what was heard or None, whether the speech engine was too busy)."""
        waiting = asyncio.create_task(session.wait_connected(self._connect_timeout))
        try:
            await asyncio.wait({run, waiting}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiting.cancel()
        if not session.connected:
            log.warning("AudioSocket stream did not arrive; falling back to keys")
            return None, False
        grammar = NumberGrammar(self.lang, extra_words=words)
        try:
            async with self._engine.session(grammar=grammar) as recognizer:
                heard = await listen_turn(session, recognizer, max_digits, self._limits,
                                          late_terminator=self._late_terminator())
                return heard, False
        except SpeechBusy:
            log.warning("speech engine busy; asking for keys")
            return None, True

    async def _finish_exec(self, run: asyncio.Task[Any]) -> bool:
        """Wait for EXEC AudioSocket's reply, so the next command gets its own reply.

        Returns whether AudioSocket failed (listening is then off for the rest of the call);
        raises :class:`AgiHangup` when the failure was the caller hanging up.
        """
        try:
            await asyncio.wait({run}, timeout=self._connect_timeout + 5)
        except asyncio.CancelledError:
            run.cancel()
            raise
        if not run.done():
            # A reply still owed would be read as the next command's: the session is unusable.
            run.cancel()
            self.agi.hung_up = True
            raise AgiHangup("AudioSocket did not return after its hangup frame")
        try:
            result = run.result()  # AgiHangup when the caller left meanwhile
        except AgiCommandError as exc:
            log.warning("EXEC AudioSocket refused (%s); listening disabled", exc.result.code)
            self._audio = None
            return True
        if result.value == _APP_NOT_FOUND:
            # app_audiosocket is not loaded on this Asterisk: keys only for the rest of the call.
            log.warning("Asterisk has no AudioSocket application; listening disabled")
            self._audio = None
            return True
        if result.failed:
            # AudioSocket() failed: a hang-up, or (channel up) a stream it could not open or
            # that timed out. Keys work whatever broke the stream.
            await self.agi.check_alive("EXEC AudioSocket")
            log.warning("AudioSocket failed on a live channel; keys only for this call")
            self._audio = None
            return True
        return False

    async def ask_until(
        self,
        prompt: Prompt,
        interpret: Callable[[Answer], T | None],
        *,
        max_digits: int,
        words: tuple[str, ...] = (),
        operator_key: bool = False,
    ) -> T:
        """Ask until ``interpret`` accepts an answer; bounded by ``max_tries``.

        Silence and unusable answers are re-prompted; saying "operator" (or key 0 where
        ``operator_key``) raises :class:`WantsOperator`; running out raises TooManyTries.
        """
        for _ in range(self.max_tries):
            answer = await self.ask(prompt, max_digits=max_digits, words=words)
            if answer.kind == "silence":
                self.ctx.no_input += 1
                await self.say(self.prompts.NO_INPUT)
                continue
            said = parse_command(answer.text, self.lang) if answer.kind == "speech" else None
            if said is Command.OPERATOR:
                raise WantsOperator()
            if operator_key and answer.kind == "dtmf" and answer.digits == "0":
                raise WantsOperator()
            value = interpret(answer)
            if value is not None:
                return value
            self.ctx.not_understood += 1
            await self.say(self.prompts.NOT_UNDERSTOOD)
        raise TooManyTries()

    async def confirm(self, prompt: Prompt) -> bool:
        """Yes (key 1 / "да") or no (key 2 / "нет")."""

        def yes_no(answer: Answer) -> bool | None:
            if answer.kind == "dtmf":
                return {"1": True, "2": False}.get(answer.digits)
            command = parse_command(answer.text, self.lang)
            return {Command.YES: True, Command.NO: False}.get(command)  # type: ignore[arg-type]

        return await self.ask_until(prompt, yes_no, max_digits=1)
