#!/usr/bin/env python3
"""A stand-in for build/src/voiceman and voiceman-dev, made of faster-whisper itself.

Only for checking the parity harness (tests/parity) and the bench: against this stand-in
every parity check must pass, and with VOICEMAN_FAKE_PERTURB set each one must fail:
  VOICEMAN_FAKE_PERTURB=mel      adds 2e-3 to the mel features
  VOICEMAN_FAKE_PERTURB=encoder  scales the encoder output by 1.01
  VOICEMAN_FAKE_PERTURB=text     drops the last word of each segment's text
  VOICEMAN_FAKE_PERTURB=words    shifts every word by 0.15 s
Use through the two wrappers: tools/reference/fake-voiceman and fake-voiceman-dev.
It implements the documented command line, not the real program; never ship it.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fw_oracle  # noqa: E402

PERTURB = os.environ.get("VOICEMAN_FAKE_PERTURB", "")


def transcribe(argv) -> int:
    ap = argparse.ArgumentParser(prog="voiceman transcribe")
    ap.add_argument("file")
    ap.add_argument("--model", default="models/tiny.en")
    ap.add_argument("--beam-size", type=int, default=5)
    ap.add_argument("--best-of", type=int, default=5)
    ap.add_argument("--language")
    ap.add_argument("--task", default="transcribe")
    ap.add_argument("--word-timestamps", action="store_true")
    ap.add_argument("--compute-type", default="float32")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--temperature", default=None)
    ap.add_argument("--no-condition-on-previous-text", action="store_true")
    ap.add_argument("--initial-prompt")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    if not Path(a.file).is_file():
        print(f"voiceman: no such file: {a.file}", file=sys.stderr)
        return 1
    from faster_whisper import WhisperModel

    t0 = time.perf_counter()
    model = WhisperModel(a.model, device="cpu", compute_type=a.compute_type, cpu_threads=a.threads)
    t1 = time.perf_counter()
    kw = dict(beam_size=a.beam_size, best_of=a.best_of, language=a.language, task=a.task,
              word_timestamps=a.word_timestamps,
              condition_on_previous_text=not a.no_condition_on_previous_text,
              initial_prompt=a.initial_prompt)
    if a.temperature is not None:
        temps = [float(t) for t in a.temperature.split(",")]
        kw["temperature"] = temps[0] if len(temps) == 1 else temps
    segments, info = model.transcribe(a.file, **kw)
    result = fw_oracle.segments_to_json(list(segments), info, a.word_timestamps)
    for s in result["segments"]:
        s["id"] -= 1  # faster-whisper numbers segments from 1, voiceman from 0
        if PERTURB == "text":
            s["text"] = " ".join(s["text"].split()[:-1])
        if PERTURB == "words":
            for w in s.get("words", []):
                w["start"] += 0.15
                w["end"] += 0.15
    result["timings"] = {"load_s": t1 - t0, "transcribe_s": time.perf_counter() - t1}
    print(json.dumps(result, ensure_ascii=False) if a.json else
          "".join(s["text"] for s in result["segments"]).strip())
    return 0


def dev(argv) -> int:
    ap = argparse.ArgumentParser(prog="voiceman-dev")
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("mel")
    m.add_argument("--audio", required=True)
    m.add_argument("--n-mels", type=int, default=80)
    m.add_argument("--out", required=True)
    e = sub.add_parser("encode")
    e.add_argument("--model", required=True)
    e.add_argument("--features", required=True)
    e.add_argument("--out", required=True)
    e.add_argument("--compute-type", default="float32")
    e.add_argument("--threads", type=int, default=2)
    a = ap.parse_args(argv)
    if a.cmd == "mel":
        from faster_whisper.feature_extractor import FeatureExtractor

        mel = FeatureExtractor(feature_size=a.n_mels)(np.load(a.audio), padding=160)
        if PERTURB == "mel":
            mel = mel + 2e-3
        np.save(a.out, mel.astype(np.float32))
        return 0
    import ctranslate2
    from faster_whisper.transcribe import get_ctranslate2_storage

    feats = np.load(a.features).astype(np.float32)
    squeeze = feats.ndim == 2
    if squeeze:
        feats = feats[None]
    model = ctranslate2.models.Whisper(a.model, device="cpu", compute_type=a.compute_type,
                                       intra_threads=a.threads)
    out = np.array(model.encode(get_ctranslate2_storage(np.ascontiguousarray(feats)),
                                to_cpu=True), dtype=np.float32)
    if PERTURB == "encoder":
        out = out * 1.01
    np.save(a.out, out)
    return 0


def main() -> int:
    prog = Path(sys.argv[0]).name
    if prog.endswith("-dev") or (len(sys.argv) > 1 and sys.argv[1] == "dev"):
        return dev(sys.argv[2:] if sys.argv[1:2] == ["dev"] else sys.argv[1:])
    if len(sys.argv) < 2 or sys.argv[1] != "transcribe":
        print("usage: voiceman transcribe FILE [options]", file=sys.stderr)
        return 2
    return transcribe(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
