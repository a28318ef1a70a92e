#!/usr/bin/env python3
"""Reference oracle: faster-whisper 1.2.1 (CTranslate2) on the same model folder and clips.

Runs only inside the reference venv (scripts/setup-ref-venv.sh makes .venv-ref). It is a
test/bench tool, never part of the product. Every result is cached under
build/parity-cache/ (or --cache), keyed by the faster-whisper and CTranslate2 versions,
the model (sha256 of model.bin), the options and the clip's audio bytes, so repeated
parity runs only pay for the reference once.

What it produces, per clip:
  audio    faster_whisper.decode_audio(path)                       float32 [samples] (16 kHz)
  mel      FeatureExtractor(n_mels)(audio, padding=160)            float32 [n_mels, frames]
  window0  the first 30 s encoder input exactly as WhisperModel.generate_segments builds it:
           features[:, :min(3000, frames-1)] zero-padded to 3000     float32 [n_mels, 3000]
  encoder  model.model.encode(window0[None], to_cpu=True)          float32 [1500, d_model]
  transcripts for the named configurations in CONFIGS (all compute_type float32,
           cpu_threads=2 unless --threads), in the same JSON shape as `voiceman transcribe --json`.

Command line (precompute and time everything):
  .venv-ref/bin/python tools/reference/fw_oracle.py --model models/tiny.en \
      --data ../shared/data [--what mel,encoder,greedy,beam5,words] [--clips id1,id2]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
DEFAULT_CACHE = REPO / "build" / "parity-cache"
DEFAULT_THREADS = 2

# Transcription configurations shared by the parity tests and the bench. `fw` holds the
# WhisperModel.transcribe keyword arguments, `cli` the matching `voiceman transcribe` flags.
# temperature=0 alone means no temperature fallback (sampling is random, so parity is only
# defined for deterministic decoding).
CONFIGS = {
    "greedy": {
        "fw": {"beam_size": 1, "temperature": 0.0},
        "cli": ["--beam-size", "1", "--temperature", "0"],
    },
    "beam5": {
        "fw": {"beam_size": 5, "temperature": 0.0},
        "cli": ["--beam-size", "5", "--temperature", "0"],
    },
    "words": {
        "fw": {"beam_size": 5, "temperature": 0.0, "word_timestamps": True},
        "cli": ["--beam-size", "5", "--temperature", "0", "--word-timestamps"],
    },
    # faster-whisper's own defaults (beam 5, temperature fallback 0.0..1.0).
    "default": {"fw": {}, "cli": []},
}

N_FRAMES = 3000  # frames in one 30 s encoder window


def _sha256(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(chunk)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def _short(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


def versions() -> dict:
    import ctranslate2
    import faster_whisper

    return {"faster_whisper": faster_whisper.__version__, "ctranslate2": ctranslate2.__version__}


def model_key(model_dir: Path) -> str:
    """Identity of a model folder: its model.bin sha256 (from fetch-models' .verified stamp)."""
    model_dir = Path(model_dir)
    stamp = model_dir / ".verified"
    if stamp.is_file() and stamp.read_text().strip():
        sha = stamp.read_text().strip()
    else:
        sha = _sha256(model_dir / "model.bin")
    return f"{model_dir.resolve().name}-{sha[:12]}"


def _save_npy(path: Path, arr: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npy")
    np.save(tmp, np.ascontiguousarray(arr))
    os.replace(tmp, path)


def _save_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1, ensure_ascii=False))
    os.replace(tmp, path)


def normalize_text(text: str) -> str:
    """Lowercase, drop punctuation except apostrophes, collapse whitespace."""
    import unicodedata

    out = []
    for ch in text.lower().replace("\u2019", "'"):
        cat = unicodedata.category(ch)
        if ch == "'" or not (cat.startswith("P") or cat.startswith("S")):
            out.append(ch)
        else:
            out.append(" ")
    return " ".join("".join(out).split())


def segments_to_json(segments, info, word_timestamps: bool) -> dict:
    """faster-whisper results in the `voiceman transcribe --json` shape."""
    segs = []
    for s in segments:
        d = {
            "id": s.id,
            "seek": s.seek,
            "start": s.start,
            "end": s.end,
            "text": s.text,
            "tokens": list(s.tokens),
            "avg_logprob": s.avg_logprob,
            "compression_ratio": s.compression_ratio,
            "no_speech_prob": s.no_speech_prob,
            "temperature": s.temperature,
        }
        if word_timestamps:
            d["words"] = [
                {"word": w.word, "start": w.start, "end": w.end, "probability": w.probability}
                for w in (s.words or [])
            ]
        segs.append(d)
    return {
        "language": info.language,
        "language_probability": info.language_probability,
        "duration": info.duration,
        "segments": segs,
    }


def full_text(result: dict) -> str:
    return "".join(s["text"] for s in result["segments"])


class Oracle:
    """Lazily loads faster-whisper; every product is cached on disk."""

    def __init__(self, model_dir, cache_dir=None, threads: int = DEFAULT_THREADS,
                 compute_type: str = "float32"):
        self.model_dir = Path(model_dir).resolve()
        if not (self.model_dir / "model.bin").is_file():
            raise FileNotFoundError(f"no model.bin in {self.model_dir} (run scripts/fetch-models.sh)")
        self.cache = Path(cache_dir or DEFAULT_CACHE)
        self.threads = threads
        self.compute_type = compute_type
        self.versions = versions()
        self.model_key = model_key(self.model_dir)
        vkey = f"fw{self.versions['faster_whisper']}-ct2{self.versions['ctranslate2']}"
        self.audio_dir = self.cache / vkey / "audio"
        self.model_cache = self.cache / vkey / self.model_key
        self._model = None
        self.load_s = None
        self._audio_sha = {}
        pre = self.model_dir / "preprocessor_config.json"
        self.n_mels = (json.loads(pre.read_text()).get("feature_size", 80)
                       if pre.is_file() else 80)

    # -- model ---------------------------------------------------------------------------
    @property
    def model(self):
        if self._model is None:
            from faster_whisper import WhisperModel

            t0 = time.perf_counter()
            self._model = WhisperModel(str(self.model_dir), device="cpu",
                                       compute_type=self.compute_type, cpu_threads=self.threads)
            self.load_s = time.perf_counter() - t0
            self.n_mels = self._model.feature_extractor.mel_filters.shape[0]
        return self._model

    def audio_sha(self, path: Path) -> str:
        path = Path(path)
        if path not in self._audio_sha:
            self._audio_sha[path] = _sha256(path)[:16]
        return self._audio_sha[path]

    # -- waveform and features -----------------------------------------------------------
    def audio(self, path) -> np.ndarray:
        path = Path(path)
        out = self.audio_dir / f"{self.audio_sha(path)}.wave.npy"
        if out.is_file():
            return np.load(out)
        from faster_whisper import decode_audio

        wav = decode_audio(str(path), sampling_rate=16000).astype(np.float32)
        _save_npy(out, wav)
        return wav

    def audio_path(self, path) -> Path:
        """The cached decoded waveform as a .npy file (what `voiceman-dev mel` reads)."""
        self.audio(path)
        return self.audio_dir / f"{self.audio_sha(Path(path))}.wave.npy"

    def mel(self, path) -> np.ndarray:
        out = self.audio_dir / f"{self.audio_sha(Path(path))}.mel{self.n_mels}.npy"
        if out.is_file():
            return np.load(out)
        from faster_whisper.feature_extractor import FeatureExtractor

        fe = FeatureExtractor(feature_size=self.n_mels)
        mel = fe(self.audio(path), padding=160).astype(np.float32)
        _save_npy(out, mel)
        return mel

    def window0(self, path) -> np.ndarray:
        """First 30 s encoder input, built as WhisperModel.generate_segments does (seek=0)."""
        from faster_whisper.audio import pad_or_trim

        mel = self.mel(path)
        content_frames = mel.shape[-1] - 1
        seg = mel[:, : min(N_FRAMES, content_frames)]
        return np.ascontiguousarray(pad_or_trim(seg, N_FRAMES), dtype=np.float32)

    def encoder(self, path) -> np.ndarray:
        out = (self.model_cache / f"encoder-{self.compute_type}"
               / f"{self.audio_sha(Path(path))}.npy")
        if out.is_file():
            return np.load(out)
        from faster_whisper.transcribe import get_ctranslate2_storage

        feats = get_ctranslate2_storage(self.window0(path)[None])
        sv = self.model.model.encode(feats, to_cpu=True)
        enc = np.array(sv, dtype=np.float32)[0]
        _save_npy(out, enc)
        return enc

    # -- transcripts ---------------------------------------------------------------------
    def fw_options(self, config: str) -> dict:
        return dict(CONFIGS[config]["fw"])

    def transcript(self, path, config: str) -> dict:
        opts = self.fw_options(config)
        key = _short({"opts": opts, "threads": self.threads})
        out = (self.model_cache / f"{config}-{self.compute_type}-{key}"
               / f"{self.audio_sha(Path(path))}.json")
        if out.is_file():
            return json.loads(out.read_text())
        model = self.model
        t0 = time.perf_counter()
        segments, info = model.transcribe(str(path), **opts)
        result = segments_to_json(list(segments), info, bool(opts.get("word_timestamps")))
        result["_oracle"] = {"wall_s": time.perf_counter() - t0, "options": opts,
                             "threads": self.threads, "compute_type": self.compute_type,
                             **self.versions, "model": self.model_key}
        _save_json(out, result)
        return result


def load_manifest(data_dir) -> list[dict]:
    """Manifest entries whose audio file exists, with an absolute `path`."""
    data_dir = Path(data_dir)
    entries = json.loads((data_dir / "manifest.json").read_text())
    clips = []
    for e in entries:
        if e.get("audio") and (data_dir / e["audio"]).is_file():
            clips.append({**e, "path": str((data_dir / e["audio"]).resolve())})
    return clips


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--model", default=str(REPO / "models" / "tiny.en"))
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data"))
    ap.add_argument("--cache", default=str(DEFAULT_CACHE))
    ap.add_argument("--threads", type=int, default=DEFAULT_THREADS)
    ap.add_argument("--compute-type", default="float32")
    ap.add_argument("--what", default="mel,encoder,greedy,beam5,words")
    ap.add_argument("--clips", default="", help="comma-separated clip ids (default: all)")
    args = ap.parse_args(argv)
    # Passive OpenMP waiting: far faster on shared cores, same results (see conftest.py).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

    oracle = Oracle(args.model, args.cache, args.threads, args.compute_type)
    clips = load_manifest(args.data)
    if args.clips:
        wanted = set(args.clips.split(","))
        clips = [c for c in clips if c["id"] in wanted]
    audio_s = sum(c["duration_s"] for c in clips)
    print(f"fw_oracle: {len(clips)} clips, {audio_s:.1f} s audio, model {oracle.model_key}, "
          f"{oracle.versions}, threads {args.threads}, {args.compute_type}")
    _ = oracle.model
    print(f"  model load: {oracle.load_s:.2f} s")
    timings = {}
    for what in args.what.split(","):
        t0 = time.perf_counter()
        for c in clips:
            if what == "mel":
                oracle.mel(c["path"])
            elif what == "encoder":
                oracle.encoder(c["path"])
            elif what in CONFIGS:
                oracle.transcript(c["path"], what)
            else:
                ap.error(f"unknown product {what!r}")
        dt = time.perf_counter() - t0
        timings[what] = dt
        print(f"  {what:8s} {dt:8.1f} s wall  (RTF {dt / audio_s:.3f}; cached results count as 0)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
