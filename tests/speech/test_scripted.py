"""The scripted engine (scripted recognition results for IVR tests and the demo)."""
from __future__ import annotations

import pytest

from speech import NumberGrammar, RecognitionResult, ScriptedSpeechEngine, ScriptExhausted


async def test_when_sessions_finish_then_scripted_results_come_in_order():
    first = RecognitionResult(text="сто двадцать три", confidence=0.9)
    engine = ScriptedSpeechEngine([first, None])
    await engine.start()
    async with engine.session(grammar=NumberGrammar("ru")) as session:
        assert await session.feed(b"\x00" * 320) is None
        assert await session.finish() == first
    async with engine.session() as session:
        assert (await session.finish()).is_empty
    assert engine.remaining == 0
    assert [s.grammar for s in engine.sessions] == [NumberGrammar("ru"), None]
    assert engine.sessions[0].bytes_fed == 320


async def test_when_script_runs_out_then_a_clear_error():
    engine = ScriptedSpeechEngine([])
    async with engine.session() as session:
        with pytest.raises(ScriptExhausted):
            await session.finish()
