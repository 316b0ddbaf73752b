"""One recognizer session: audio in, partial and final results out, Vosk calls off the loop."""
from __future__ import annotations

import asyncio
import json
import logging
import math
from concurrent.futures import Executor
from typing import Any

import vosk

from speech.results import Alternative, PartialResult, RecognitionResult, Word
from speech.settings import SpeechSettings

log = logging.getLogger(__name__)

# Vosk is always fed 20 ms blocks (a telephony frame at 8 kHz), whatever sizes the caller's
# frames have: Vosk checks for the end of an utterance after each call, so the same audio cut
# differently would otherwise split into utterances differently and give different text.
BLOCK_SECONDS = 0.02
UNKNOWN_WORD = "[unk]"


class SpeechSession:
    """Feed 16-bit mono little-endian PCM (slin) at the engine's sample rate, in frames of any size.

    Results cover everything fed since the session began (or since the last ``finish()``):
    Vosk splits speech into utterances at pauses, and the session joins them.
    """

    def __init__(
        self,
        recognizer: vosk.KaldiRecognizer,
        executor: Executor,
        settings: SpeechSettings,
        *,
        model: vosk.Model | None = None,
    ) -> None:
        self.model = model  # kept so the shared model outlives every recognizer built on it
        self._recognizer = recognizer
        self._executor = executor
        self._settings = settings
        self._lock = asyncio.Lock()
        self._block = max(2, int(settings.sample_rate * BLOCK_SECONDS) * 2)
        self._pending = b""  # less than one block (maybe an odd byte) waits for the rest
        self._utterances: list[RecognitionResult] = []
        self._last_partial = ""
        self._bytes_accepted = 0
        self._max_bytes = int(settings.max_audio_seconds * settings.sample_rate) * 2
        self.truncated = False

    @property
    def audio_seconds(self) -> float:
        """Seconds of audio received (whole samples), including samples not yet decoded."""
        whole = self._bytes_accepted + len(self._pending) - len(self._pending) % 2
        return whole / (2 * self._settings.sample_rate)

    async def feed(self, pcm: bytes) -> PartialResult | None:
        """Recognise ``pcm``; returns the words so far when they changed, else None."""
        if not isinstance(pcm, (bytes, bytearray, memoryview)):
            raise TypeError(f"audio must be bytes, not {type(pcm).__name__}")
        async with self._lock:
            data = self._pending + bytes(pcm)
            room = self._max_bytes - self._bytes_accepted - len(self._pending)
            if len(pcm) > room:
                if not self.truncated:
                    log.warning(
                        "speech session exceeded %.0fs of audio; the rest is ignored",
                        self._settings.max_audio_seconds,
                    )
                self.truncated = True
                data = data[: max(self._max_bytes - self._bytes_accepted, 0)]
            usable = len(data) - len(data) % self._block
            self._pending = data[usable:]
            if usable == 0:
                return None
            self._bytes_accepted += usable
            return await self._recognise(data[:usable])

    async def _recognise(self, data: bytes) -> PartialResult | None:
        loop = asyncio.get_running_loop()
        finished, partial = await loop.run_in_executor(self._executor, self._accept, data)
        self._utterances.extend(finished)
        text = _join([*(u.text for u in self._utterances), partial])
        if text == self._last_partial and not finished:
            return None
        self._last_partial = text
        return PartialResult(text=text, utterance_ended=bool(finished) and not partial)

    def _accept(self, data: bytes) -> tuple[list[RecognitionResult], str]:
        finished: list[RecognitionResult] = []
        recognizer = self._recognizer
        for start in range(0, len(data), self._block):
            if recognizer.AcceptWaveform(data[start : start + self._block]):
                result = parse_vosk_result(recognizer.Result())
                if not result.is_blank:
                    finished.append(result)
        partial = json.loads(recognizer.PartialResult()).get("partial", "")
        return finished, partial

    async def finish(self) -> RecognitionResult:
        """The result of all audio fed so far; the session then starts afresh."""
        async with self._lock:
            tail = self._pending[: len(self._pending) - len(self._pending) % 2]
            if tail:
                self._bytes_accepted += len(tail)
                await self._recognise(tail)
            loop = asyncio.get_running_loop()
            last = await loop.run_in_executor(self._executor, self._recognizer.FinalResult)
            utterances = [*self._utterances, parse_vosk_result(last)]
            self._utterances = []
            self._last_partial = ""
            self._pending = b""
            return combine(utterances)


def parse_vosk_result(raw: str) -> RecognitionResult:
    """Turn Vosk's JSON (with or without alternatives) into a RecognitionResult."""
    try:
        data: dict[str, Any] = json.loads(raw)
    except (TypeError, ValueError):
        log.warning("unreadable Vosk result ignored")
        return RecognitionResult()
    if not isinstance(data, dict):
        log.warning("unexpected Vosk result shape ignored")
        return RecognitionResult()
    if "alternatives" in data:
        raw_alts = [a for a in data["alternatives"] if isinstance(a, dict)]
        if not raw_alts:
            return RecognitionResult()
        posteriors = _posteriors([float(a.get("confidence", 0.0)) for a in raw_alts])
        alternatives = [
            Alternative(text=str(a.get("text", "")).strip(), confidence=p)
            for a, p in zip(raw_alts, posteriors, strict=True)
        ]
        best = raw_alts[0]
        words = [_word(w) for w in best.get("result", []) if isinstance(w, dict)]
        return RecognitionResult(
            text=alternatives[0].text,
            confidence=alternatives[0].confidence,
            alternatives=alternatives,
            words=words,
        )
    words = [_word(w) for w in data.get("result", []) if isinstance(w, dict)]
    text = str(data.get("text", "")).strip()
    confs = [w.conf for w in words if w.conf is not None]
    confidence = sum(confs) / len(confs) if confs else 0.0
    alternatives = [Alternative(text=text, confidence=confidence)] if text else []
    return RecognitionResult(
        text=text, confidence=confidence, alternatives=alternatives, words=words
    )


def _word(raw: dict[str, Any]) -> Word:
    conf = raw.get("conf")
    return Word(
        word=str(raw.get("word", "")),
        start=float(raw.get("start", 0.0)),
        end=float(raw.get("end", 0.0)),
        conf=None if conf is None else min(max(float(conf), 0.0), 1.0),
    )


def _posteriors(scores: list[float]) -> list[float]:
    """Vosk's n-best scores are lattice log-scores; a softmax over them gives shares of 1."""
    top = max(scores)
    weights = [math.exp(s - top) for s in scores]
    total = sum(weights)
    return [w / total for w in weights]


def combine(utterances: list[RecognitionResult]) -> RecognitionResult:
    spoken = [u for u in utterances if not u.is_blank]
    if not spoken:
        return RecognitionResult()
    if len(spoken) == 1:
        return spoken[0]
    text = _join(u.text for u in spoken)
    confidence = math.prod(u.confidence for u in spoken)
    return RecognitionResult(
        text=text,
        confidence=confidence,
        alternatives=[Alternative(text=text, confidence=confidence)],
        words=[w for u in spoken for w in u.words],
    )


def _join(parts: Any) -> str:
    return " ".join(p for p in parts if p)
