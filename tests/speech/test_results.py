"""Vosk's JSON → RecognitionResult, and how results of several utterances combine."""
from __future__ import annotations

import json

import pytest

from speech import NumberGrammar, RecognitionResult
from speech.numbers import grammar_words
from speech.session import combine, parse_vosk_result


def test_when_vosk_returns_alternatives_then_confidences_are_shares_of_one():
    raw = json.dumps({"alternatives": [
        {"confidence": 210.5, "result": [{"start": 0.1, "end": 0.4, "word": "пять"}],
         "text": "пять"},
        {"confidence": 209.8, "text": "девять"},
        {"confidence": 200.0, "text": "пятьсот"},
    ]})
    result = parse_vosk_result(raw)
    assert result.text == "пять"
    assert [a.text for a in result.alternatives] == ["пять", "девять", "пятьсот"]
    shares = [a.confidence for a in result.alternatives]
    assert abs(sum(shares) - 1) < 1e-9
    assert shares == sorted(shares, reverse=True)
    assert result.confidence == shares[0]
    assert result.words[0].word == "пять" and result.words[0].conf is None


def test_when_vosk_returns_words_then_confidence_is_their_mean():
    raw = json.dumps({"result": [
        {"conf": 1.0, "start": 0.0, "end": 0.3, "word": "сто"},
        {"conf": 0.5, "start": 0.3, "end": 0.6, "word": "два"},
    ], "text": "сто два"})
    result = parse_vosk_result(raw)
    assert result.confidence == pytest.approx(0.75)
    assert [w.conf for w in result.words] == [1.0, 0.5]


@pytest.mark.parametrize(
    "raw",
    ["", "not json", "[]", "{}", '{"alternatives": []}', '{"alternatives": [{"text": ""}]}',
     '{"text": ""}', '{"alternatives": ["x"]}'],
)
def test_when_vosk_output_is_empty_or_odd_then_result_is_empty(raw):
    assert parse_vosk_result(raw).is_empty


def test_when_only_unknown_words_then_result_counts_as_empty():
    result = RecognitionResult(text="[unk] [unk]")
    assert result.is_empty and not result.is_blank and result.known_text == ""


def test_when_two_utterances_then_texts_and_words_join():
    first = parse_vosk_result(json.dumps({"result": [
        {"conf": 1.0, "start": 0.0, "end": 0.3, "word": "сто"}], "text": "сто"}))
    second = parse_vosk_result(json.dumps({"result": [
        {"conf": 0.5, "start": 1.0, "end": 1.3, "word": "два"}], "text": "два"}))
    joined = combine([first, RecognitionResult(), second])
    assert joined.text == "сто два"
    assert [w.word for w in joined.words] == ["сто", "два"]
    assert joined.confidence == pytest.approx(0.5)


@pytest.mark.parametrize("lang", ["ru", "en", "ko"])
def test_when_a_grammar_is_built_then_every_parsable_word_of_it_is_a_number_or_command(lang):
    words = NumberGrammar(lang).words
    assert len(words) == len(set(words))
    assert set(grammar_words(lang)) <= set(words)
    assert all(w and " " not in w for w in words)
