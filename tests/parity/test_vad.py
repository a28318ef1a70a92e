"""Silero VAD run by voiceman's engine vs faster-whisper 1.2.1 (onnxruntime), every clip.

`voiceman-dev vad` gets faster-whisper's decoded waveform and prints per-frame speech
probabilities, speech regions and chunks. Checks:
  probs    max |ours - fw| <= 1e-4 over all frames of all clips (SileroVADModel.__call__)
  regions  same number of regions and every boundary within 30 ms of get_speech_timestamps,
           with the default VadOptions and with BatchedInferencePipeline's
           (max_speech_duration_s=30, min_silence_duration_ms=160)
  logic    faster-whisper's region logic fed *our* probabilities gives exactly our regions
  chunks   collect_chunks' chunk offsets and durations (max_duration inf / 30 s) within 30 ms
"""
from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest

from conftest import REPO

PROB_TOL = 1e-4
TIME_TOL_S = 0.030
SR = 16000
OPTION_SETS = {
    "default": ({}, math.inf),
    "batched": ({"max_speech_duration_s": 30, "min_silence_duration_ms": 160}, 30.0),
}


@pytest.fixture(scope="module")
def vad_model():
    path = os.environ.get("VOICEMAN_VAD_MODEL", str(REPO / "models" / "silero_vad_v6.onnx"))
    if not os.path.isfile(path):
        pytest.fail(f"{path} is missing (run: bash scripts/fetch-models.sh)")
    return path


def _fw_regions_from(probs, audio, options):
    """faster-whisper's get_speech_timestamps on given probabilities (its model swapped out)."""
    import faster_whisper.vad as fv

    real = fv.get_vad_model
    fv.get_vad_model = lambda: (lambda padded: np.asarray(probs, dtype=np.float32))
    try:
        return fv.get_speech_timestamps(audio, fv.VadOptions(**options))
    finally:
        fv.get_vad_model = real


def _chunks(audio, regions, max_duration):
    import faster_whisper.vad as fv

    _, meta = fv.collect_chunks(audio, regions, max_duration=max_duration)
    # Ours leaves out empty chunks (no speech, or before an over-long region).
    return [(m["offset"], m["duration"]) for m in meta if m["duration"] > 0]


def test_vad(clips, oracle, voiceman, vad_model, figures):
    import faster_whisper.vad as fv

    fig = figures("vad")
    fw_model = fv.get_vad_model()
    failures = []
    worst_prob = (0.0, "")
    worst_time = {k: (0.0, "") for k in OPTION_SETS}
    worst_chunk = {k: (0.0, "") for k in OPTION_SETS}
    n_regions = {k: 0 for k in OPTION_SETS}
    n_chunks = {k: 0 for k in OPTION_SETS}
    frames = 0
    audio_s = model_s = 0.0
    for c in clips:
        audio = oracle.audio(c["path"])
        npy = oracle.audio_path(c["path"])
        padded = np.pad(audio, (0, 512 - audio.shape[0] % 512))
        ref_probs = np.asarray(fw_model(padded), dtype=np.float32).reshape(-1)
        # Default options and chunks over the whole recording; the batched ones come
        # from the same run (--batched-too).
        out = json.loads(voiceman.dev("vad", "--audio", npy, "--model", vad_model,
                                      "--threads", "1", "--chunk-max-duration-s", "inf",
                                      "--batched-too", "1").stdout)
        for name, (options, chunk_max) in OPTION_SETS.items():
            ours = out if name == "default" else out["batched"]
            probs = np.asarray(out["probs"], dtype=np.float32)
            if name == "default":
                frames += probs.size
                audio_s += audio.shape[0] / SR
                model_s += out["model_seconds"]
                if probs.shape != ref_probs.shape:
                    failures.append(f"{c['id']}: {probs.size} frames, fw {ref_probs.size}")
                    continue
                d = float(np.max(np.abs(probs - ref_probs))) if probs.size else 0.0
                worst_prob = max(worst_prob, (d, c["id"]))
                if not d <= PROB_TOL:
                    failures.append(f"{c['id']}: prob max abs diff {d:.3g}")
            regions = [tuple(r) for r in ours["regions"]]
            ref = [(r["start"], r["end"]) for r in fv.get_speech_timestamps(
                audio, fv.VadOptions(**options))]
            n_regions[name] += len(ref)
            if len(ref) != len(regions):
                failures.append(f"{c['id']} [{name}]: {len(regions)} regions, fw {len(ref)}: "
                                f"{regions} vs {ref}")
                continue
            for (s, e), (rs, re_) in zip(regions, ref):
                d = max(abs(s - rs), abs(e - re_)) / SR
                worst_time[name] = max(worst_time[name], (d, c["id"]))
                if d > TIME_TOL_S:
                    failures.append(f"{c['id']} [{name}]: region {(s, e)} vs fw {(rs, re_)}")
            logic = [(r["start"], r["end"]) for r in _fw_regions_from(probs, audio, options)]
            if logic != regions:
                failures.append(f"{c['id']} [{name}]: fw logic on our probs gives {logic}, "
                                f"ours {regions}")
            ref_chunks = _chunks(audio, [{"start": s, "end": e} for s, e in ref], chunk_max)
            got_chunks = [(ch["offset"], ch["duration"]) for ch in ours["chunks"]]
            n_chunks[name] += len(ref_chunks)
            if len(ref_chunks) != len(got_chunks):
                failures.append(f"{c['id']} [{name}]: chunks {got_chunks} vs fw {ref_chunks}")
                continue
            for a, b in zip(got_chunks, ref_chunks):
                d = max(abs(a[0] - b[0]), abs(a[1] - b[1]))
                worst_chunk[name] = max(worst_chunk[name], (d, c["id"]))
                if d > TIME_TOL_S:
                    failures.append(f"{c['id']} [{name}]: chunk {a} vs fw {b}")
    fig["clips"] = len(clips)
    fig["frames"] = frames
    fig["prob_max_abs_diff"] = worst_prob[0]
    fig["prob_worst_clip"] = worst_prob[1]
    fig["prob_tolerance"] = PROB_TOL
    for name in OPTION_SETS:
        fig[f"{name}_regions"] = n_regions[name]
        fig[f"{name}_boundary_max_diff_ms"] = 1000 * worst_time[name][0]
        fig[f"{name}_chunks"] = n_chunks[name]
        fig[f"{name}_chunk_max_diff_ms"] = 1000 * worst_chunk[name][0]
    fig["time_tolerance_ms"] = 1000 * TIME_TOL_S
    # One process per clip: includes each process's first-call warm-up (~0.1 s).
    fig["vad_audio_s_per_s_1_thread_cold"] = audio_s / model_s if model_s else 0.0
    assert not failures, "\n".join(failures[:20])


def test_vad_long_input(clips, oracle, voiceman, vad_model, scratch, figures):
    """Clips joined into one recording of > 2048 frames: the encoder then runs in several
    blocks and the LSTM state is carried between them (faster-whisper: one session run)."""
    import faster_whisper.vad as fv

    parts, total = [], 0
    for c in clips:
        parts.append(oracle.audio(c["path"]))
        total += parts[-1].shape[0]
        if total > 100 * SR:
            break
    audio = np.concatenate(parts).astype(np.float32)
    if audio.shape[0] <= 2048 * 512:
        pytest.skip("the selected clips are too short for a multi-block input")
    path = scratch / "vad-long.npy"
    np.save(path, audio)
    ours = json.loads(voiceman.dev("vad", "--audio", path, "--model", vad_model,
                                   "--threads", "1").stdout)
    padded = np.pad(audio, (0, 512 - audio.shape[0] % 512))
    ref = np.asarray(fv.get_vad_model()(padded), dtype=np.float32).reshape(-1)
    probs = np.asarray(ours["probs"], dtype=np.float32)
    assert probs.shape == ref.shape
    d = float(np.max(np.abs(probs - ref)))
    ref_regions = [[r["start"], r["end"]] for r in fv.get_speech_timestamps(audio, fv.VadOptions())]
    fig = figures("vad_long")
    fig["audio_s"] = audio.shape[0] / SR
    fig["prob_max_abs_diff"] = d
    fig["regions"] = len(ref_regions)
    assert d <= PROB_TOL
    assert len(ours["regions"]) == len(ref_regions)
    worst = max((max(abs(a[0] - b[0]), abs(a[1] - b[1])) for a, b in
                 zip(ours["regions"], ref_regions)), default=0) / SR
    fig["boundary_max_diff_ms"] = 1000 * worst
    assert worst <= TIME_TOL_S
