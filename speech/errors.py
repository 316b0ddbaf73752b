"""Domain errors of the speech package (no HTTP, no telephony here)."""
from __future__ import annotations


class SpeechError(Exception):
    """Base of every error raised by ``speech``."""


class SpeechBusy(SpeechError):
    """Every recognizer slot stayed taken for the whole wait: back-pressure, try later."""

    def __init__(self, max_sessions: int, waited: float) -> None:
        super().__init__(f"all {max_sessions} speech sessions busy after waiting {waited:.2f}s")
        self.max_sessions = max_sessions
        self.waited = waited


class SpeechModelError(SpeechError):
    """The Vosk model could not be found or loaded."""


class SpeechNotStarted(SpeechError):
    """A session was asked for before ``await engine.start()`` finished."""


class UnsupportedLanguage(SpeechError, ValueError):
    """Number words are known for ru, en and ko only."""

    def __init__(self, lang: str) -> None:
        super().__init__(f"unsupported language {lang!r}; known: ru, en, ko")
        self.lang = lang


class EmptyGrammar(SpeechError):
    """No word of the grammar is in the model's vocabulary (wrong language for the model)."""
