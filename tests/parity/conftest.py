"""Parity harness: voiceman against faster-whisper 1.2.1 on the clips in ../shared/data.

Run through CTest (`parity.faster_whisper`, registered by tests/CMakeLists.txt) or by hand:
  .venv-ref/bin/python -m pytest -q tests/parity \
      --voiceman-bin=build/src/voiceman --voiceman-dev=build/src/voiceman-dev
Options: --parity-model DIR (default models/tiny.en), --parity-data DIR (default
../shared/data from the repo root), --parity-clips id1,id2 (a subset, for development),
--parity-threads N (default 2), --parity-cache DIR, --parity-report FILE.
The figures of every check are printed at the end of the run and written to
build/parity-report.json.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

# faster-whisper's CTranslate2 uses GNU OpenMP; with its default active waiting it runs
# several times slower when anything else shares the cores. Passive waiting changes its
# speed only, never its results. Set before ctranslate2 is first imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools" / "reference"))

import fw_oracle  # noqa: E402

_FIGURES: dict = {}
_REPORT_PATH: list = []


def pytest_addoption(parser):
    g = parser.getgroup("voiceman parity")
    g.addoption("--voiceman-bin", default=str(REPO / "build" / "src" / "voiceman"),
                help="the voiceman CLI binary")
    g.addoption("--voiceman-dev", default=str(REPO / "build" / "src" / "voiceman-dev"),
                help="the voiceman-dev binary (mel, encode)")
    g.addoption("--parity-model", default=str(REPO / "models" / "tiny.en"))
    g.addoption("--parity-data", default=os.path.join(str(REPO), "..", "shared", "data"))
    g.addoption("--parity-clips", default=os.environ.get("VOICEMAN_PARITY_CLIPS", ""),
                help="comma-separated clip ids to use instead of all clips")
    g.addoption("--parity-threads", type=int, default=fw_oracle.DEFAULT_THREADS)
    g.addoption("--parity-cache", default=str(fw_oracle.DEFAULT_CACHE))
    g.addoption("--parity-report", default=str(REPO / "build" / "parity-report.json"))


def pytest_configure(config):
    _REPORT_PATH[:] = [config.getoption("--parity-report")]


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not _FIGURES:
        return
    tr = terminalreporter
    tr.section("voiceman parity figures (vs faster-whisper)")
    for name, figs in _FIGURES.items():
        tr.write_line(f"[{name}]")
        for k, v in figs.items():
            if k.startswith("_"):
                continue
            if isinstance(v, float):
                v = f"{v:.6g}"
            elif isinstance(v, (list, dict)):
                v = json.dumps(v, ensure_ascii=False)
                if len(v) > 600:
                    v = v[:600] + " ..."
            tr.write_line(f"  {k}: {v}")
    if _REPORT_PATH:
        tr.write_line(f"report: {_REPORT_PATH[0]}")


def pytest_sessionfinish(session, exitstatus):
    if not _FIGURES or not _REPORT_PATH:
        return
    path = Path(_REPORT_PATH[0])
    path.parent.mkdir(parents=True, exist_ok=True)
    old = {}
    if path.is_file():  # keep figures of checks that did not run this time
        try:
            old = json.loads(path.read_text()).get("checks", {})
        except (ValueError, OSError):
            old = {}
    old.update(_FIGURES)
    path.write_text(json.dumps({"written": time.strftime("%Y-%m-%dT%H:%M:%S"),
                                "pytest_exit": int(exitstatus), "checks": old},
                               indent=1, ensure_ascii=False))


@pytest.fixture(scope="session")
def figures():
    """figures(check_name) -> dict that is printed at the end and saved to the report."""
    def get(name: str) -> dict:
        return _FIGURES.setdefault(name, {})
    return get


@pytest.fixture(scope="session")
def data_dir(pytestconfig) -> Path:
    d = Path(pytestconfig.getoption("--parity-data"))
    if not (d / "manifest.json").is_file():
        pytest.fail(f"no evaluation data: {d}/manifest.json is missing (the parity checks need "
                    "../shared/data beside the repository)")
    return d


@pytest.fixture(scope="session")
def manifest(data_dir) -> list:
    return json.loads((data_dir / "manifest.json").read_text())


@pytest.fixture(scope="session")
def clips(pytestconfig, data_dir, manifest) -> list:
    """Manifest entries whose audio exists, each with an absolute `path`."""
    clips = fw_oracle.load_manifest(data_dir)
    wanted = [c for c in pytestconfig.getoption("--parity-clips").split(",") if c]
    if wanted:
        unknown = set(wanted) - {c["id"] for c in clips}
        if unknown:
            pytest.fail(f"--parity-clips names unknown clips: {sorted(unknown)}")
        clips = [c for c in clips if c["id"] in wanted]
    if not clips:
        pytest.fail(f"no audio found for any manifest entry under {data_dir}")
    return clips


@pytest.fixture(scope="session")
def model_dir(pytestconfig) -> Path:
    d = Path(pytestconfig.getoption("--parity-model"))
    if not (d / "model.bin").is_file():
        pytest.fail(f"model {d} is missing (run: bash scripts/fetch-models.sh)")
    return d


@pytest.fixture(scope="session")
def threads(pytestconfig) -> int:
    return pytestconfig.getoption("--parity-threads")


@pytest.fixture(scope="session")
def oracle(pytestconfig, model_dir, threads):
    return fw_oracle.Oracle(model_dir, pytestconfig.getoption("--parity-cache"), threads)


def _binary(path: str, what: str) -> Path:
    p = Path(path)
    if not p.is_file() or not os.access(p, os.X_OK):
        pytest.fail(f"{what} binary not found or not executable: {p} "
                    "(build it: cmake -S . -B build -G Ninja && ninja -C build)")
    return p


class Voiceman:
    """Runs our binaries; transcripts are memoized for the session."""

    def __init__(self, bin_path, dev_path, model_dir: Path, threads: int):
        self.bin_path = bin_path
        self.dev_path = dev_path
        self.model_dir = model_dir
        self.threads = threads
        self._memo: dict = {}
        self.wall: dict = {}

    def run(self, argv, timeout):
        try:
            p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"timed out after {timeout:.0f} s: {' '.join(map(str, argv))}")
        if p.returncode != 0:
            pytest.fail(f"exit code {p.returncode}: {' '.join(map(str, argv))}\n"
                        f"stderr:\n{p.stderr[-3000:]}")
        return p

    def dev(self, *args, timeout=600):
        return self.run([str(_binary(self.dev_path, "voiceman-dev")), *map(str, args)], timeout)

    def transcribe(self, clip: dict, config: str) -> dict:
        key = (clip["path"], config)
        if key in self._memo:
            return self._memo[key]
        argv = [str(_binary(self.bin_path, "voiceman")), "transcribe", clip["path"],
                "--model", str(self.model_dir), "--threads", str(self.threads), "--json",
                *fw_oracle.CONFIGS[config]["cli"]]
        t0 = time.perf_counter()
        p = self.run(argv, timeout=120 + 20 * float(clip.get("duration_s", 30)))
        self.wall[config] = self.wall.get(config, 0.0) + time.perf_counter() - t0
        try:
            result = json.loads(p.stdout)
        except ValueError as e:
            pytest.fail(f"`{' '.join(argv)}` printed no valid JSON ({e}); stdout starts: "
                        f"{p.stdout[:300]!r}")
        if not isinstance(result, dict) or not isinstance(result.get("segments"), list):
            pytest.fail(f"`{' '.join(argv)}`: JSON has no 'segments' list")
        self._memo[key] = result
        return result


@pytest.fixture(scope="session")
def voiceman(pytestconfig, model_dir, threads) -> Voiceman:
    return Voiceman(pytestconfig.getoption("--voiceman-bin"),
                    pytestconfig.getoption("--voiceman-dev"), model_dir, threads)


@pytest.fixture(scope="session")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("parity")


def as_float32(path) -> np.ndarray:
    a = np.load(path)
    if a.dtype != np.float32:
        raise AssertionError(f"{path}: dtype {a.dtype}, expected float32")
    return a
