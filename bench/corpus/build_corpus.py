"""Builds the benchmark corpus: recordings of mixed length and format, with references.

Each corpus file is 1..N English clips of ../shared/data (manifest entries with language
"en" and a reference_text) joined with silences, encoded by ffmpeg. Its reference is the
clips' reference texts joined by spaces. Everything follows from the seed and the size:
  - length classes (of the plan, before encoding):
      short  1 clip                    (~3-20 s)          55 %
      medium clips up to 15-50 s       (2-8 clips)        33 %
      long   clips up to 60-150 s (~3 min at most)        12 %
    (--quick: 12 files of at most ~45 s, no long silences: a few minutes of audio)
  - gaps between clips: 0.2-1.5 s; a quarter of the multi-clip files get long gaps
    (5-25 s) and some a long lead-in or tail of silence (what VAD should skip);
  - formats: m4a (AAC, 64-128 kb/s, 44.1/48 kHz) 60 %, mp3 15 %, wav 10 %, flac 10 %,
    ogg (Vorbis) 5 %; mono mostly, some stereo (the same signal on both channels).
Audio seconds are counted from the samples written, so every runner is credited with the
same total. The corpus is cached in its folder with corpus.json (plan, references, key);
a folder whose key matches is reused as it is.

  python bench/corpus/build_corpus.py --out bench/.corpus [--files 110] [--quick] [--seed 7]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

SR = 16000
REPO = Path(__file__).resolve().parents[2]
VERSION = 1  # bump when the plan or the encoding changes

FORMATS = [  # (weight, extension, ffmpeg codec arguments)
    (60, "m4a", ["-c:a", "aac", "-b:a", "96k"]),
    (15, "mp3", ["-c:a", "libmp3lame", "-b:a", "128k"]),
    (10, "wav", ["-c:a", "pcm_s16le"]),
    (10, "flac", ["-c:a", "flac"]),
    (5, "ogg", ["-c:a", "libvorbis", "-q:a", "4"]),
]
RATES = {"m4a": [44100, 48000, 16000], "mp3": [44100, 22050], "wav": [16000, 8000],
         "flac": [16000, 44100], "ogg": [48000, 16000]}


def english_clips(data_dir: Path) -> list[dict]:
    entries = json.loads((data_dir / "manifest.json").read_text())
    clips = [e for e in entries if e.get("language") == "en" and (e.get("reference_text") or "").strip()
             and (data_dir / e["audio"]).is_file()]
    if not clips:
        raise SystemExit(f"build_corpus: no English clips with references in {data_dir}/manifest.json")
    return sorted(clips, key=lambda e: e["id"])


# (share of short files, medium share, medium length range, long length range) in seconds.
PROFILES = {"full": (0.55, 0.33, (15, 50), (60, 150)), "quick": (0.5, 0.35, (12, 30), (30, 45))}


def make_plan(clips: list[dict], files: int, seed: int, profile: str = "full") -> list[dict]:
    rng = random.Random(seed)
    short, medium, medium_s, long_s = PROFILES[profile]
    plan = []
    fmt_weights = [w for w, _, _ in FORMATS]
    for i in range(files):
        r = rng.random()
        if r < short:
            kind, target = "short", 0.0
        elif r < short + medium:
            kind, target = "medium", rng.uniform(*medium_s)
        else:
            kind, target = "long", rng.uniform(*long_s)
        long_gaps = kind != "short" and rng.random() < 0.25
        parts, total = [], 0.0
        lead = rng.choice([0.0, 0.0, 0.0, rng.uniform(0.1, 1.0), rng.uniform(5, 20)]) \
            if profile == "full" and kind != "short" else rng.choice([0.0, rng.uniform(0.1, 2.0)])
        total += lead
        while True:
            clip = rng.choice(clips)
            parts.append({"clip": clip["id"]})
            total += clip["duration_s"]
            if kind == "short" or total >= target:
                break
            gap = rng.uniform(5, 25 if profile == "full" else 8) if long_gaps and rng.random() < 0.5 else rng.uniform(0.2, 1.5)
            parts[-1]["gap_after_s"] = round(gap, 3)
            total += gap
        tail = rng.choice([0.0, 0.0, rng.uniform(0.1, 1.0), rng.uniform(5, 15)]) \
            if kind != "short" and profile == "full" else 0.0
        _, ext, _ = rng.choices(FORMATS, weights=fmt_weights)[0]
        if i < len(FORMATS):  # every format at least once, even in the quick corpus
            ext = FORMATS[-1 - i][1]
        plan.append({
            "name": f"f{i:03d}_{kind}.{ext}", "kind": kind, "format": ext,
            "sample_rate": rng.choice(RATES[ext]), "stereo": rng.random() < 0.15,
            "lead_s": round(lead, 3), "tail_s": round(tail, 3), "parts": parts,
        })
    return plan


def decode16k(path: Path) -> np.ndarray:
    """Mono 16 kHz float32 of any file, by ffmpeg (the corpus's own source material)."""
    p = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-ac", "1", "-ar", str(SR),
                        "-f", "f32le", "-"], capture_output=True, check=True)
    return np.frombuffer(p.stdout, dtype=np.float32).copy()


def render(entry: dict, audio: dict[str, np.ndarray]) -> np.ndarray:
    pieces = [np.zeros(int(round(entry["lead_s"] * SR)), np.float32)]
    for part in entry["parts"]:
        pieces.append(audio[part["clip"]])
        pieces.append(np.zeros(int(round(part.get("gap_after_s", 0.0) * SR)), np.float32))
    pieces.append(np.zeros(int(round(entry["tail_s"] * SR)), np.float32))
    return np.concatenate(pieces)


def encode(signal: np.ndarray, entry: dict, dst: Path) -> None:
    codec = next(args for _, ext, args in FORMATS if ext == entry["format"])
    pcm = (np.clip(signal, -1.0, 1.0) * 32767.0).round().astype("<i2").tobytes()
    tmp = dst.with_name(".tmp-" + dst.name)
    # bitexact: no encoder version or time stamps in the container, so the bytes repeat.
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "s16le", "-ar", str(SR), "-ac", "1", "-i", "-",
           "-ac", "2" if entry["stereo"] else "1", "-ar", str(entry["sample_rate"]), *codec,
           "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact", "-f",
           {"m4a": "ipod", "ogg": "ogg"}.get(entry["format"], entry["format"]), str(tmp)]
    subprocess.run(cmd, input=pcm, check=True)
    os.replace(tmp, dst)


def build(out: Path, data_dir: Path, files: int, seed: int, quick: bool = False) -> dict:
    clips = english_clips(data_dir)
    by_id = {c["id"]: c for c in clips}
    plan = make_plan(clips, files, seed, "quick" if quick else "full")
    key = hashlib.sha256(json.dumps({"v": VERSION, "plan": plan, "clips": [
        (c["id"], c["reference_text"], (data_dir / c["audio"]).stat().st_size) for c in clips]},
        sort_keys=True).encode()).hexdigest()[:16]
    meta_path = out / "corpus.json"
    if meta_path.is_file():
        meta = json.loads(meta_path.read_text())
        if meta.get("key") == key and all((out / "audio" / f["name"]).is_file() for f in meta["files"]):
            print(f"build_corpus: reusing {out} ({len(meta['files'])} files, "
                  f"{meta['audio_s'] / 60:.1f} min)", file=sys.stderr)
            return meta
    if out.exists():
        shutil.rmtree(out)
    (out / "audio").mkdir(parents=True)
    print(f"build_corpus: writing {files} files to {out} (seed {seed})", file=sys.stderr)
    needed = sorted({p["clip"] for e in plan for p in e["parts"]})
    audio = {cid: decode16k(data_dir / by_id[cid]["audio"]) for cid in needed}
    entries = []
    for e in plan:
        signal = render(e, audio)
        encode(signal, e, out / "audio" / e["name"])
        entries.append({**e, "audio_s": len(signal) / SR,
                        "reference": " ".join(by_id[p["clip"]]["reference_text"].strip() for p in e["parts"])})
    meta = {"version": VERSION, "key": key, "seed": seed, "quick": quick, "data_dir": str(data_dir),
            "audio_dir": str(out / "audio"), "audio_s": sum(e["audio_s"] for e in entries),
            "formats": {ext: sum(e["format"] == ext for e in entries) for _, ext, _ in FORMATS},
            "kinds": {k: sum(e["kind"] == k for e in entries) for k in ("short", "medium", "long")},
            "files": entries}
    tmp = meta_path.with_name("corpus.json.tmp")
    tmp.write_text(json.dumps(meta, indent=1, ensure_ascii=False))
    os.replace(tmp, meta_path)
    return meta


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out", default=str(REPO / "bench" / ".corpus"))
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data"))
    ap.add_argument("--files", type=int, default=0, help="number of files (default 110, quick 12)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="a small corpus (12 files) in OUT/quick")
    args = ap.parse_args(argv)
    meta = build_for(args)
    print(f"build_corpus: {len(meta['files'])} files, {meta['audio_s'] / 60:.1f} min audio, "
          f"formats {meta['formats']}, kinds {meta['kinds']} in {meta['audio_dir']}")
    return 0


def build_for(args) -> dict:
    """The corpus that the options name: full in OUT/full, quick in OUT/quick."""
    files = args.files or (12 if args.quick else 110)
    out = Path(args.out) / ("quick" if args.quick else "full")
    return build(out, Path(args.data).resolve(), files, args.seed, args.quick)


if __name__ == "__main__":
    sys.exit(main())
