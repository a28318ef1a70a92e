"""One Python peer over the corpus, in its own process (bench.py starts it and reads its peak
RSS from wait4). Prints nothing useful on stdout; writes one JSON result file.

Peers (same model folder, compute type, threads and beam size):
  fw          faster-whisper WhisperModel.transcribe, one file after another (its defaults
              otherwise: temperature fallback, condition_on_previous_text, no VAD);
  fw-batched  faster-whisper BatchedInferencePipeline(model).transcribe(file,
              batch_size=B), one file after another (its defaults: Silero VAD chunks,
              no previous-text conditioning);
  whisperx    whisperx.load_model(model_dir, ...).transcribe(whisperx.load_audio(file),
              batch_size=B) over the folder, with its bundled pyannote VAD
              (whisperx/assets/pytorch_model.bin) and no alignment model (that needs a
              download from a model hub).
Model load (and the VAD model's) is timed alone and not counted. One untimed warm-up file
(the corpus's shortest) runs after the load. The timed loop includes decoding each file.

  python bench/corpus/peers.py fw --corpus CORPUS.json --model DIR --out RESULT.json
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time


def load_fw(args):
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    model = WhisperModel(args.model, device="cpu", compute_type=args.compute_type,
                         cpu_threads=args.threads)
    if args.runner == "fw":
        def run(path):
            segments, info = model.transcribe(path, beam_size=args.beam_size)
            return "".join(s.text for s in segments), info.duration
    else:
        pipeline = BatchedInferencePipeline(model)

        def run(path):
            segments, info = pipeline.transcribe(path, beam_size=args.beam_size,
                                                 batch_size=args.batch_size)
            return "".join(s.text for s in segments), info.duration
    return run


def load_whisperx(args):
    # Offline: everything must come from the installed package and the model folder.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "0")
    import torch
    import whisperx

    torch.set_num_threads(args.threads)
    model = whisperx.load_model(args.model, device="cpu", compute_type=args.compute_type,
                                threads=args.threads, asr_options={"beam_size": args.beam_size},
                                vad_method="pyannote", local_files_only=True)

    def run(path):
        audio = whisperx.load_audio(path)
        result = model.transcribe(audio, batch_size=args.batch_size)
        return " ".join(s["text"].strip() for s in result["segments"]), len(audio) / 16000
    return run


def _versions() -> dict:
    from importlib import metadata

    out = {}
    for name in ("faster-whisper", "ctranslate2", "whisperx", "torch", "pyannote.audio"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("runner", choices=["fw", "fw-batched", "whisperx"])
    ap.add_argument("--corpus", required=True, help="corpus.json of build_corpus.py")
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--compute-type", default="int8")
    ap.add_argument("--beam-size", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=8)
    args = ap.parse_args(argv)

    corpus = json.loads(open(args.corpus).read())
    audio_dir = corpus["audio_dir"]
    t0 = time.perf_counter()
    run = load_whisperx(args) if args.runner == "whisperx" else load_fw(args)
    load_s = time.perf_counter() - t0

    warm = min(corpus["files"], key=lambda f: f["audio_s"])
    run(os.path.join(audio_dir, warm["name"]))

    files = []
    start = time.perf_counter()
    for f in corpus["files"]:
        t = time.perf_counter()
        try:
            text, duration = run(os.path.join(audio_dir, f["name"]))
            files.append({"name": f["name"], "text": text, "duration_s": duration,
                          "wall_s": time.perf_counter() - t})
        except Exception as e:  # a failing file is a result too; the others go on
            files.append({"name": f["name"], "error": f"{type(e).__name__}: {e}",
                          "wall_s": time.perf_counter() - t})
    wall_s = time.perf_counter() - start
    result = {"runner": args.runner, "versions": _versions(), "load_s": load_s, "wall_s": wall_s, "files": files,
              "options": {"threads": args.threads, "compute_type": args.compute_type,
                          "beam_size": args.beam_size,
                          "batch_size": None if args.runner == "fw" else args.batch_size}}
    tmp = args.out + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(result, fh, ensure_ascii=False)
    os.replace(tmp, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
