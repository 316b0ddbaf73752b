"""The IVR as a FastAGI route, and the two servers it needs (FastAGI and AudioSocket).

``IvrApplication.handle`` is the route for ``agi://host:port/ivr``. It records the call in
``interactions`` first, runs the flows and records the end whatever happened (hang-up,
transfer, error); the end is written in a shielded task so that a cancelled route still
leaves its row complete.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg

from ivr.agi_protocol import AgiHangup
from ivr.audiosocket import AudioSocketServer
from ivr.call import CallContext, call_id_of
from ivr.deps import IvrDeps
from ivr.dialog import Dialog
from ivr.fastagi import AgiChannel, FastAgiServer, RouteErrorHook
from ivr.flows.menu import run_call
from ivr.listen import ListenLimits
from ivr.prompts import load
from state.repositories.interactions import record_ivr_end, record_ivr_start
from ivr.settings import IvrSettings
from speech import NumberGrammar
from state.phones import try_normalize_phone
from state.readings import ReadingLimits

__all__ = ["IvrApplication", "ivr_servers", "ROUTE"]

log = logging.getLogger(__name__)

ROUTE = "ivr"


class IvrApplication:
    def __init__(
        self,
        deps: IvrDeps,
        *,
        audio: AudioSocketServer | None,
        engine: Any | None,
        audio_address: str | None = None,
    ) -> None:
        self.deps = deps
        self.audio = audio
        self.engine = engine
        # Read by /metrics at scrape time: calls in the IVR now, and how the others ended.
        self.in_progress = 0
        self.outcomes: Counter[str] = Counter()
        s = deps.settings
        self.audio_address = audio_address or (
            f"{s.audiosocket_advertise or s.audiosocket_host}:{s.audiosocket_port}"
        )
        self.limits = ListenLimits(
            max_seconds=s.listen_max_seconds,
            no_input_seconds=s.listen_no_input_seconds,
            end_silence_seconds=s.listen_end_silence_seconds,
            dtmf_timeout_seconds=s.dtmf_timeout_ms / 1000,
            rms_threshold=s.voice_rms_threshold,
            read_timeout=s.audiosocket_read_timeout,
        )

    async def handle(self, agi: AgiChannel) -> None:
        s = self.deps.settings
        ctx = CallContext(
            call_id=await call_id_of(agi),
            caller=try_normalize_phone(agi.caller_id),
            started_at=self.deps.clock(),
        )
        await record_ivr_start(self.deps.db, ctx.call_id, ctx.caller, ctx.started_at, ctx.to_json())
        lang = agi.headers.get("agi_language", "ru") if s.language == "auto" else s.language
        dialog = Dialog(
            agi, ctx, load(lang if lang in ("ru", "en") else "ru"),
            audio=self.audio, audio_address=self.audio_address, engine=self.engine,
            limits=self.limits, max_tries=s.max_tries,
            connect_timeout=s.audiosocket_connect_timeout, dtmf_timeout_ms=s.dtmf_timeout_ms,
            speech_lang=s.speech_language,
        )
        self.in_progress += 1
        try:
            await agi.answer()  # the dialplan answers too; a second ANSWER is a no-op
            await run_call(dialog, self.deps)
        except AgiHangup:
            ctx.outcome = "hangup"
            raise
        except asyncio.CancelledError:
            ctx.outcome = "interrupted"
            raise
        except Exception:
            ctx.outcome = "error"
            # A bug or an outage behind the IVR must not leave the caller in silence: hand the
            # call to a person, then let the error reach the server's route-error handling.
            with contextlib.suppress(Exception):
                ctx.queue = s.default_queue
                await agi.set_variable("CCS_INTENT", ctx.intent)
                await agi.set_variable("CCS_IVR", ";".join(filter(None, [ctx.summary(), "error"])))
                await agi.set_variable("CCS_ACCOUNT", ctx.account.number if ctx.account else "")
                await agi.set_variable("CCS_IDENTIFIED_BY", ctx.identified_by or "")
                await agi.set_variable("CCS_QUEUE", s.default_queue)
            raise
        finally:
            self.in_progress -= 1
            self.outcomes[ctx.outcome] += 1
            end = asyncio.ensure_future(record_ivr_end(
                self.deps.db, ctx.call_id, account_id=ctx.account.id if ctx.account else None,
                queue=ctx.queue, outcome=ctx.outcome, ended_at=self.deps.clock(), ivr=ctx.to_json()))
            try:
                await asyncio.shield(end)
            except asyncio.CancelledError:
                await end
                raise


def _usable_engine(engine: Any | None, lang: str) -> Any | None:
    """The engine, or None (keys only) when its model knows none of the language's words.

    A grammar with no known word is not just useless: Vosk is handed an empty grammar, which
    it does not survive. This happens with a model of another language (the demo's Korean
    model with Russian prompts) and is a configuration error, reported once at start.
    """
    split = getattr(engine, "split_vocabulary", None)
    if engine is None or split is None:
        return engine
    known, _ = split(NumberGrammar(lang).words)
    if not known:
        log.error("speech model knows no %s number words: the IVR takes keys only "
                  "(set CCS_IVR__SPEECH_LANGUAGE to the model's language)", lang)
        return None
    return engine


@contextlib.asynccontextmanager
async def ivr_servers(
    settings: IvrSettings,
    db: asyncpg.Pool,
    engine: Any | None,
    *,
    on_route_error: RouteErrorHook | None = None,
    deps: IvrDeps | None = None,
    limits: ReadingLimits | None = None,
    on_identified: Callable[[str], None] | None = None,
) -> AsyncIterator[tuple[FastAgiServer, AudioSocketServer, IvrApplication]]:
    """Start both servers (ports 0 pick free ones) and stop them on exit."""
    audio = AudioSocketServer(
        max_frame_bytes=settings.audiosocket_max_frame_bytes,
        read_timeout=settings.audiosocket_read_timeout,
    )
    agi = FastAgiServer(
        header_timeout=settings.header_timeout,
        max_header_bytes=settings.max_header_bytes,
        reply_timeout=settings.reply_timeout,
        on_route_error=on_route_error,
        token=settings.agi_token.get_secret_value() if settings.agi_token else None,
    )
    if settings.agi_token is None and settings.agi_host not in ("127.0.0.1", "::1", "localhost"):
        log.warning("CCS_IVR__AGI_TOKEN is unset while FastAGI listens on %s: any peer that "
                    "reaches the port can drive the IVR", settings.agi_host)
    engine = _usable_engine(engine, settings.speech_language or settings.language)
    await audio.start(settings.audiosocket_host, settings.audiosocket_port)
    try:
        deps = deps or IvrDeps(
            db, settings,
            limits or ReadingLimits(),
            on_identified=on_identified,
        )
        host = settings.audiosocket_advertise or settings.audiosocket_host
        app = IvrApplication(deps, audio=audio, engine=engine, audio_address=f"{host}:{audio.port}")
        agi.add_route(ROUTE, app.handle)
        await agi.start(settings.agi_host, settings.agi_port)
        try:
            yield agi, audio, app
        finally:
            await agi.stop()
    finally:
        await audio.stop()
