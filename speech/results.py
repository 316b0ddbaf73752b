"""What a recognizer returns, as pydantic models: the edge between ``speech`` and its callers."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Word(BaseModel):
    model_config = ConfigDict(frozen=True)

    word: str
    start: float = Field(description="Seconds from the start of the session's audio.")
    end: float
    conf: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="Vosk's word posterior; None when alternatives were asked for (Vosk omits it).",
    )


class Alternative(BaseModel):
    model_config = ConfigDict(frozen=True)

    text: str
    confidence: float


class PartialResult(BaseModel):
    """Words heard so far in an utterance that is not finished yet."""

    model_config = ConfigDict(frozen=True)

    text: str
    utterance_ended: bool = Field(
        False, description="Vosk heard the speaker stop (endpoint): a good moment to finish()."
    )

    @property
    def is_empty(self) -> bool:
        return not _known_words(self.text)


class RecognitionResult(BaseModel):
    """The final result of one session.

    ``confidence`` is the best alternative's confidence as Vosk reports it (a lattice score
    when alternatives are requested, otherwise the mean word confidence); compare it only
    between alternatives of the same result, never across models.
    """

    model_config = ConfigDict(frozen=True)

    text: str = ""
    confidence: float = 0.0
    alternatives: list[Alternative] = Field(default_factory=list)
    words: list[Word] = Field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        """Nothing recognised: no words, or only "[unk]" (speech outside the grammar)."""
        return not _known_words(self.text)

    @property
    def is_blank(self) -> bool:
        """No text at all, not even "[unk]"."""
        return not self.text.strip()

    @property
    def known_text(self) -> str:
        """The text without "[unk]" markers."""
        return " ".join(_known_words(self.text))

    @classmethod
    def empty(cls) -> RecognitionResult:
        return cls()


def _known_words(text: str) -> list[str]:
    return [w for w in text.split() if w != "[unk]"]
