"""Language detection of `voiceman run` (batched mode) vs faster-whisper 1.2.1's
BatchedInferencePipeline, on the multilingual model (models/base, float32, CPU).

faster-whisper detects on its chunks' features end to end plus one frame of -1.5, cut to
30 s windows; a recording whose first chunk is short is judged on the speech after it too.
Inputs: the four clips of ../shared/data/multilingual and three made of them (a short
English start before Korean, a short Korean start before English, German, French and
Korean in turn). Both sides get faster-whisper's chunks (--concatenate-speech).
Check: the same language on every recording, probability within PROB_TOL.
"""
from __future__ import annotations

import json
import subprocess
import wave

import numpy as np
import pytest

from conftest import REPO

PROB_TOL = 2e-3
SR = 16000


def _decode(path) -> np.ndarray:
    out = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-f", "s16le",
                          "-ac", "1", "-ar", str(SR), "-"], capture_output=True, check=True).stdout
    return np.frombuffer(out, dtype=np.int16)


def _write(path, parts) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes(np.concatenate(parts).tobytes())


@pytest.fixture(scope="module")
def inputs(data_dir, scratch):
    folder = scratch / "batched_language"
    folder.mkdir(exist_ok=True)
    multi = data_dir / "multilingual"
    clips = {n: _decode(multi / f"leopard_test{s}.wav")
             for n, s in (("en", ""), ("de", "_de"), ("fr", "_fr"), ("ko", "_ko"))}
    for name, audio in clips.items():
        _write(folder / f"{name}.wav", [audio])
    jfk = _decode(data_dir / "jfk.flac")
    pause = np.zeros(2 * SR, dtype=np.int16)
    _write(folder / "en_start_then_ko.wav", [jfk[:int(1.6 * SR)], pause] + [clips["ko"]] * 9)
    _write(folder / "ko_start_then_en.wav", [clips["ko"][:int(1.5 * SR)], pause] + [jfk] * 3)
    _write(folder / "de_fr_ko.wav", [clips["de"], pause, clips["fr"], pause] + [clips["ko"]] * 3)
    return folder


def test_batched_language(inputs, voiceman, threads, scratch, figures):
    base = REPO / "models" / "base"
    if not (base / "model.bin").is_file():
        pytest.fail(f"{base} is missing (run: bash scripts/fetch-models.sh)")
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    pipeline = BatchedInferencePipeline(
        WhisperModel(str(base), device="cpu", compute_type="float32", cpu_threads=threads))
    theirs = {}
    for path in sorted(inputs.glob("*.wav")):
        segments, info = pipeline.transcribe(str(path), beam_size=5, batch_size=8)
        list(segments)
        theirs[path.name] = (info.language, info.language_probability)

    out = scratch / "batched_language_out"
    voiceman.run([str(voiceman.bin_path), "run", str(inputs), "-o", str(out), "--model", str(base),
                  "--compute-type", "float32", "--beam-size", "5", "--threads", str(threads),
                  "--formats", "json", "--concatenate-speech", "--quiet"], timeout=900)
    diffs = []
    for name, (language, probability) in theirs.items():
        ours = json.loads((out / "transcripts" / f"{name}.json").read_text())
        assert ours["language"] == language, f"{name}: ours {ours['language']}, fw {language}"
        diffs.append(abs(ours["language_probability"] - probability))
        assert diffs[-1] <= PROB_TOL, (f"{name}: probability {ours['language_probability']:.5f}, "
                                       f"fw {probability:.5f}")
    f = figures("batched_language")
    f["recordings"] = len(diffs)
    f["max_probability_diff"] = round(max(diffs), 6)
