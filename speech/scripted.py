"""Scripted recognition results: a stand-in engine for IVR tests and the demo.

It ignores the audio it is fed and answers each ``finish()`` with the next result of the
script it was given. It is a fake by design (named as such): real recognition is
``SpeechEngine``.
"""
from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import AsyncIterator, Iterable

from speech.errors import SpeechError
from speech.grammar import NumberGrammar
from speech.results import PartialResult, RecognitionResult


class ScriptExhausted(SpeechError):
    """More results were asked for than the script holds (a test bug, not caller behaviour)."""


class ScriptedSpeechSession:
    def __init__(self, engine: ScriptedSpeechEngine, grammar: NumberGrammar | None) -> None:
        self._engine = engine
        self.grammar = grammar
        self.bytes_fed = 0

    async def feed(self, pcm: bytes) -> PartialResult | None:
        self.bytes_fed += len(pcm)
        return None

    async def finish(self) -> RecognitionResult:
        return self._engine._next_result()


class ScriptedSpeechEngine:
    """Scripted recognition results, one per ``finish()``; ``None`` in the script means silence."""

    def __init__(self, results: Iterable[RecognitionResult | None] = ()) -> None:
        self._script: deque[RecognitionResult | None] = deque(results)
        self.sessions: list[ScriptedSpeechSession] = []

    def add(self, *results: RecognitionResult | None) -> None:
        self._script.extend(results)

    @property
    def remaining(self) -> int:
        return len(self._script)

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def status(self) -> dict[str, object]:
        return {"model_loaded": True, "scripted": True, "results_left": len(self._script)}

    @contextlib.asynccontextmanager
    async def session(
        self,
        grammar: NumberGrammar | None = None,
        *,
        wait: float | None = None,
        alternatives: int | None = None,
    ) -> AsyncIterator[ScriptedSpeechSession]:
        session = ScriptedSpeechSession(self, grammar)
        self.sessions.append(session)
        yield session

    def _next_result(self) -> RecognitionResult:
        if not self._script:
            raise ScriptExhausted("the scripted speech engine has no results left")
        result = self._script.popleft()
        return result if result is not None else RecognitionResult()
