"""Speech recognition (Vosk) and number words for the IVR; knows nothing about calls."""
from speech.engine import SpeechEngine, default_model_path
from speech.errors import EmptyGrammar, SpeechBusy, SpeechError, SpeechModelError, SpeechNotStarted
from speech.grammar import NumberGrammar
from speech.numbers import (
    Command,
    NumberKind,
    NumberReading,
    digits_to_words,
    money_to_words,
    number_to_words,
    parse_command,
    parse_digits,
    parse_number,
)
from speech.results import Alternative, PartialResult, RecognitionResult, Word
from speech.scripted import ScriptedSpeechEngine, ScriptedSpeechSession, ScriptExhausted
from speech.session import SpeechSession

__all__ = [
    "Alternative",
    "Command",
    "EmptyGrammar",
    "NumberGrammar",
    "NumberKind",
    "NumberReading",
    "PartialResult",
    "RecognitionResult",
    "ScriptExhausted",
    "ScriptedSpeechEngine",
    "ScriptedSpeechSession",
    "SpeechBusy",
    "SpeechEngine",
    "SpeechError",
    "SpeechModelError",
    "SpeechNotStarted",
    "SpeechSession",
    "Word",
    "default_model_path",
    "digits_to_words",
    "money_to_words",
    "number_to_words",
    "parse_command",
    "parse_digits",
    "parse_number",
]
