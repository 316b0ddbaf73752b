"""One listening turn: caller audio from an AudioSocket stream into a recognizer session.

The turn ends on the caller's own time, measured in audio (samples received), not in wall
clock, so it behaves the same whether Asterisk paces frames in real time or a test sends them
at once: after ``end_silence`` of quiet following speech, after ``no_input`` without any
speech, or at ``max_seconds``. A DTMF digit switches the turn to key entry: digits are
collected until ``#``, ``max_digits`` or ``dtmf_timeout`` of audio without a key. A ``#`` that
comes first while ``late_terminator`` is set ends the caller's previous, full-length entry and is
passed over (see ``ivr.dialog``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ivr.audiosocket import Audio, AudioSession, Dtmf, Ended

__all__ = ["Heard", "ListenLimits", "listen_turn", "is_voice"]

_BYTES_PER_SECOND = 16000  # 8 kHz, 16-bit


@dataclass(frozen=True)
class ListenLimits:
    max_seconds: float = 10.0
    no_input_seconds: float = 4.0
    end_silence_seconds: float = 0.8
    dtmf_timeout_seconds: float = 5.0
    rms_threshold: int = 500
    read_timeout: float = 5.0


@dataclass(frozen=True)
class Heard:
    text: str = ""
    digits: str = ""
    confidence: float = 0.0
    ended: str | None = None  # the stream ended before the turn did (hangup, error, ...)
    audio_seconds: float = 0.0


def is_voice(pcm: bytes, threshold: int) -> bool:
    """Energy detector: enough for telling a caller's answer from line silence."""
    if len(pcm) < 2:
        return False
    samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.float32)
    return float(np.sqrt(np.mean(samples * samples))) >= threshold


async def _collect_dtmf(
    audio: AudioSession, first: str, max_digits: int, limits: ListenLimits
) -> Heard:
    digits = "" if first == "#" else first
    quiet = 0.0
    while first != "#" and len(digits) < max_digits and quiet < limits.dtmf_timeout_seconds:
        event = await audio.next_event(timeout=limits.read_timeout)
        if isinstance(event, Ended):
            return Heard(digits=digits, ended=event.reason)
        if isinstance(event, Dtmf):
            if event.digit == "#":
                break
            digits += event.digit
            quiet = 0.0
        elif isinstance(event, Audio):
            quiet += len(event.pcm) / _BYTES_PER_SECOND
    return Heard(digits=digits)


async def listen_turn(
    audio: AudioSession, recognizer: Any, max_digits: int, limits: ListenLimits,
    *, late_terminator: bool = False,
) -> Heard:
    """Feed the stream to ``recognizer`` (a speech session) until the answer is over."""
    total = 0.0
    voiced = False
    trailing = 0.0
    while total < limits.max_seconds:
        try:
            event = await audio.next_event(timeout=limits.read_timeout)
        except TimeoutError:
            return Heard(ended="timeout", audio_seconds=total)
        if isinstance(event, Ended):
            return Heard(ended=event.reason, audio_seconds=total)
        if isinstance(event, Dtmf):
            if late_terminator and event.digit == "#":
                late_terminator = False
                continue
            return await _collect_dtmf(audio, event.digit, max_digits, limits)
        seconds = len(event.pcm) / _BYTES_PER_SECOND
        total += seconds
        await recognizer.feed(event.pcm)
        if is_voice(event.pcm, limits.rms_threshold):
            voiced, trailing = True, 0.0
        else:
            trailing += seconds
        if voiced and trailing >= limits.end_silence_seconds:
            break
        if not voiced and total >= limits.no_input_seconds:
            break
    result = await recognizer.finish()
    return Heard(text=result.text, confidence=result.confidence, audio_seconds=total)
