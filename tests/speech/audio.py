"""Audio made here for the real-model tests: 8 kHz 16-bit mono little-endian PCM (slin).

None of it is speech the Korean model could understand, so tests built on it assert behaviour
(grammar restriction, empty results, no crashes), never what was said.
"""
from __future__ import annotations

import shutil
import subprocess

import numpy as np

RATE = 8000


def silence(seconds: float) -> bytes:
    return bytes(int(seconds * RATE) * 2)


def white_noise(seconds: float, amplitude: float, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    samples = rng.normal(0.0, amplitude, int(seconds * RATE))
    return np.clip(samples, -32768, 32767).astype("<i2").tobytes()


def tone(seconds: float, frequency: float, amplitude: float = 8000.0) -> bytes:
    t = np.arange(int(seconds * RATE)) / RATE
    return (np.sin(2 * np.pi * frequency * t) * amplitude).astype("<i2").tobytes()


def garbage(size: int, seed: int) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes()


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None and shutil.which("sox") is not None


def espeak(text: str, voice: str) -> bytes:
    """Synthesised speech resampled to 8 kHz slin (espeak-ng → WAV → sox → raw)."""
    wav = subprocess.run(
        ["espeak-ng", "-v", voice, "--stdout", text], check=True, capture_output=True, timeout=30
    ).stdout
    raw = subprocess.run(
        ["sox", "-t", "wav", "-", "-t", "raw", "-r", str(RATE), "-c", "1", "-b", "16",
         "-e", "signed-integer", "-L", "-"],
        input=wav, check=True, capture_output=True, timeout=30,
    ).stdout
    return raw
