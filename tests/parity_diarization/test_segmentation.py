"""Segmentation parity: voiceman's PyanNet against pyannote.audio's Model on the same
checkpoint (whisperx's multilabel one, and a random-weight powerset model that
pyannote.audio itself builds, with segmentation-3.0's architecture)."""
from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
import torch

from conftest import record, run_dev

PROB_TOL = 1e-3  # max abs difference of speaker probabilities / log-probabilities


def windows(audio: np.ndarray, size: int, step: int) -> list[np.ndarray]:
    """Consecutive windows; the last one zero-padded, as pyannote's Inference does."""
    out = []
    for start in range(0, max(1, len(audio) - size + step), step):
        w = audio[start : start + size]
        out.append(np.pad(w, (0, size - len(w))))
    return out


def compare(model, diar_dev, checkpoint, batch: np.ndarray, tmp_path, raw: bool,
            recording: np.ndarray | None = None, step: int = 0):
    """Ours on `batch` (or, with `step`, on the windows of `recording` through the
    diarizer's sliding path) against pyannote's model on `batch`."""
    np.save(tmp_path / "in.npy", batch if recording is None else recording)
    args = ["segment", "--model", str(checkpoint), "--audio", str(tmp_path / "in.npy"),
            "--out", str(tmp_path / "out.npy"), "--threads", "1"]
    if raw:
        args += ["--raw", "1"]
    if step:
        args += ["--step", str(step), "--count", str(len(batch))]
    seconds = run_dev(diar_dev, *args)
    ours = np.load(tmp_path / "out.npy")
    with torch.inference_mode():
        ref = model(torch.from_numpy(batch)[:, None]).numpy()
    assert ours.shape == ref.shape
    return ours, ref, seconds


def check_probabilities(model, batch: np.ndarray, ours, ref, name: str) -> tuple[float, str]:
    """Max abs difference, within PROB_TOL or, for ill-conditioned windows where float32
    itself is far from float64, within 5 x PROB_TOL and no further from a float64 run than
    torch's float32. Returns the difference and a note on the float64 comparison."""
    diff = float(np.abs(ours - ref).max())
    if diff <= PROB_TOL:
        return diff, ""
    with torch.inference_mode():
        r64 = model.double()(torch.from_numpy(batch).double()[:, None]).numpy()
        model.float()
    ours64, torch64 = float(np.abs(ours - r64).max()), float(np.abs(ref - r64).max())
    assert diff <= 5 * PROB_TOL and ours64 <= 1.1 * torch64 + 1e-4, name
    return diff, f"; vs float64: voiceman {ours64:.2e}, torch float32 {torch64:.2e}"


def check_timing(model, diar_dev, checkpoint):
    info = json.loads(subprocess.run([str(diar_dev), "info", "--model", str(checkpoint)],
                                     check=True, capture_output=True, text=True).stdout)
    rf = model.receptive_field
    assert info["frame_start_s"] == pytest.approx(rf.start, abs=1e-9)
    assert info["frame_duration_s"] == pytest.approx(rf.duration, abs=1e-9)
    assert info["frame_step_s"] == pytest.approx(rf.step, abs=1e-9)
    spec = model.specifications
    assert info["window_s"] == pytest.approx(spec.duration)
    n = int(spec.duration * 16000)
    assert info["num_frames_window"] == model.num_frames(n)
    return info


def test_whisperx_segmentation(diar_dev, models_dir, dev_clips, tmp_path):
    from pyannote.audio import Model

    checkpoint = models_dir / "segmentation-whisperx.bin"
    model = Model.from_pretrained(str(checkpoint)).eval()
    info = check_timing(model, diar_dev, checkpoint)
    assert info["powerset"] is False and info["num_speakers"] == 3
    size = int(info["window_s"] * 16000)
    worst, total_s, total_audio = 0.0, 0.0, 0.0
    for name, audio in dev_clips.items():
        batch = np.stack(windows(audio, size, size)).astype(np.float32)
        ours, ref, seconds = compare(model, diar_dev, checkpoint, batch, tmp_path, raw=False)
        diff, note = check_probabilities(model, batch, ours, ref, name)
        record(f"segmentation whisperx {name}: max abs diff", f"{diff:.2e} over {ref.size} values{note}")
        worst = max(worst, diff)
        total_s += seconds
        total_audio += batch.size / 16000
    record("segmentation whisperx: worst max abs diff", f"{worst:.2e} (tolerance {PROB_TOL}, "
           "or no further from float64 than torch)")
    record("segmentation whisperx: speed, 1 thread", f"{total_audio / total_s:.0f} s of audio per s")


def test_whisperx_segmentation_sliding(diar_dev, models_dir, dev_clips, tmp_path):
    """The diarizer's path: overlapping windows of one recording through forward_sliding
    (the sinc filterbank shared by all windows), against pyannote on the windows cut out."""
    from pyannote.audio import Model

    checkpoint = models_dir / "segmentation-whisperx.bin"
    model = Model.from_pretrained(str(checkpoint)).eval()
    size = int(model.specifications.duration * 16000)
    step = size // 10  # the diarizer's default segmentation step
    worst = 0.0
    for name in ("sample", *sorted(n for n in dev_clips if n.startswith("ami_"))[:2]):
        audio = dev_clips[name].astype(np.float32)
        batch = np.stack(windows(audio, size, step)).astype(np.float32)
        ours, ref, _ = compare(model, diar_dev, checkpoint, batch, tmp_path, raw=False,
                               recording=audio, step=step)
        diff, note = check_probabilities(model, batch, ours, ref, name)
        record(f"segmentation whisperx sliding {name}: max abs diff",
               f"{diff:.2e} over {len(batch)} windows{note}")
        worst = max(worst, diff)
    record("segmentation whisperx sliding: worst max abs diff", f"{worst:.2e}")


@pytest.fixture(scope="module")
def powerset_checkpoint(tmp_path_factory):
    """segmentation-3.0's architecture with random weights, built and saved by pyannote.audio."""
    from pyannote.audio.core.task import Problem, Resolution, Specifications
    from pyannote.audio.models.segmentation import PyanNet

    torch.manual_seed(3)
    model = PyanNet(sincnet={"stride": 10},
                    lstm={"hidden_size": 128, "num_layers": 4, "bidirectional": True,
                          "monolithic": True, "dropout": 0.5},
                    linear={"hidden_size": 128, "num_layers": 2}, sample_rate=16000)
    model.specifications = Specifications(
        problem=Problem.MONO_LABEL_CLASSIFICATION, resolution=Resolution.FRAME, duration=10.0,
        classes=["speaker#1", "speaker#2", "speaker#3"], powerset_max_classes=2,
        permutation_invariant=True)
    model.setup()
    # Random affine norms and sinc bands too (their defaults are constants).
    with torch.no_grad():
        for name, p in model.named_parameters():
            scale = 20.0 if "hz_" in name else 0.1
            p.add_(torch.randn_like(p) * scale)
    model.eval()
    path = tmp_path_factory.mktemp("powerset") / "segmentation-powerset.ckpt"
    torch.save({"state_dict": model.state_dict(), "hyper_parameters": dict(model.hparams),
                "pyannote.audio": {"architecture": {"module": type(model).__module__,
                                                    "class": type(model).__name__},
                                   "specifications": model.specifications}}, path)
    return model, path


def test_powerset_segmentation(diar_dev, powerset_checkpoint, dev_clips, tmp_path):
    from pyannote.audio.utils.powerset import Powerset

    model, checkpoint = powerset_checkpoint
    info = check_timing(model, diar_dev, checkpoint)
    assert info["powerset"] is True and info["num_speakers"] == 3 and info["num_classes"] == 7
    size = int(info["window_s"] * 16000)
    batch = np.stack(windows(dev_clips["sample"], size, size // 2)).astype(np.float32)
    ours, ref, _ = compare(model, diar_dev, checkpoint, batch, tmp_path, raw=True)
    diff = float(np.abs(ours - ref).max())
    record("segmentation powerset (random weights): log-prob max abs diff", f"{diff:.2e}")
    assert diff <= PROB_TOL
    # Hard conversion to per-speaker activity, as pyannote's Inference does by default.
    run_dev(diar_dev, "segment", "--model", str(checkpoint), "--audio", str(tmp_path / "in.npy"),
            "--out", str(tmp_path / "ml.npy"))
    ours_ml = np.load(tmp_path / "ml.npy")
    ref_ml = Powerset(3, 2).to_multilabel(torch.from_numpy(ref)).numpy()
    agree = float((ours_ml == ref_ml).all(axis=-1).mean())
    record("segmentation powerset: hard multilabel frames identical", f"{agree:.4%}")
    # A frame may only differ where the two best classes are within the tolerance.
    top2 = np.sort(ref, axis=-1)[..., -2:]
    near_tie = (top2[..., 1] - top2[..., 0]) <= 2 * PROB_TOL
    assert ((ours_ml == ref_ml).all(axis=-1) | near_tie).all()
    assert agree >= 0.99
