"""Diarization parity: voiceman's native models against pyannote.audio and resemblyzer.

Run through CTest (`parity.diarization`, registered by tests/CMakeLists.txt when .venv-diar
exists; scripts/setup-diar-venv.sh creates it) or by hand:
  .venv-diar/bin/python -m pytest -q tests/parity_diarization \
      --diar-dev=build/src/voiceman-diar-dev
Options: --diar-models DIR (default models/diarization, filled by
scripts/fetch-diarization-models.sh), --diar-data DIR (default ../shared/data).
Every figure (max abs differences, cosine similarities) is printed at the end of the run.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
FIGURES: dict = {}


def pytest_addoption(parser):
    g = parser.getgroup("voiceman diarization parity")
    g.addoption("--diar-dev", default=str(REPO / "build" / "src" / "voiceman-diar-dev"))
    g.addoption("--diar-models", default=str(REPO / "models" / "diarization"))
    g.addoption("--diar-data", default=str(REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session", autouse=True)
def _torch_threads():
    import torch

    torch.set_num_threads(2)


@pytest.fixture(scope="session")
def diar_dev(request) -> Path:
    path = Path(request.config.getoption("--diar-dev"))
    if not path.exists():
        pytest.fail(f"{path} is missing: build the voiceman-diar-dev target")
    return path


@pytest.fixture(scope="session")
def models_dir(request) -> Path:
    path = Path(request.config.getoption("--diar-models"))
    for name in ("segmentation-whisperx.bin", "resemblyzer.pt"):
        if not (path / name).exists():
            pytest.skip(f"{path / name} missing: run scripts/fetch-diarization-models.sh")
    return path


@pytest.fixture(scope="session")
def data_dir(request) -> Path:
    path = Path(request.config.getoption("--diar-data"))
    if not (path / "sample.wav").exists():
        pytest.skip(f"no dev clips in {path}")
    return path


def load_audio(path: Path) -> np.ndarray:
    import soundfile as sf

    wav, sr = sf.read(str(path), dtype="float32", always_2d=True)
    assert sr == 16000, f"{path}: {sr} Hz"
    return wav.mean(axis=1).astype(np.float32)


@pytest.fixture(scope="session")
def dev_clips(data_dir) -> dict[str, np.ndarray]:
    """The two-speaker call, the AMI clips and three LibriSpeech utterances."""
    clips = {"sample": load_audio(data_dir / "sample.wav")}
    for wav in sorted((data_dir / "ami").glob("*.wav")):
        clips[wav.stem] = load_audio(wav)
    for flac in sorted((data_dir / "librispeech_test-other").rglob("*.flac"))[:3]:
        clips[flac.stem] = load_audio(flac)
    return clips


def run_dev(diar_dev: Path, *args: str) -> float:
    """Runs voiceman-diar-dev; returns the model call's wall time it reports."""
    out = subprocess.run([str(diar_dev), *args], check=True, capture_output=True, text=True)
    for line in out.stderr.splitlines():
        if line.startswith("seconds="):
            return float(line.split("=", 1)[1])
    return float("nan")


def record(name: str, value) -> None:
    FIGURES[name] = value


def pytest_terminal_summary(terminalreporter):
    if not FIGURES:
        return
    terminalreporter.section("diarization parity figures")
    for name, value in FIGURES.items():
        terminalreporter.write_line(f"{name}: {value}")
