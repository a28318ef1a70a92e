#!/usr/bin/env python3
"""Engine benchmark: voiceman against faster-whisper 1.2.1, one file at a time.

Same model folder, same clips, same thread count, for each of greedy / beam 5 and
float32 / int8 (temperature 0, no fallback, so both do the same work). Both sides are
warm: one warm-up file per configuration is decoded and not timed. Model load is timed
separately and excluded from the per-file times:
  faster-whisper: WhisperModel() is created once per compute type and timed alone;
  voiceman:       one process per file, run with -v; the per-file time is what it logs
                  for audio decoding + transcription ("model load X s, decode Y s,
                  transcribe Z s"), and its model load is the median X. Without that log
                  line it is the whole process wall time (then flagged `load_included`).
Both per-file times include decoding the audio file (faster-whisper decodes inside
transcribe()).
Reported per engine and configuration: audio seconds, wall seconds, speed (audio/wall,
"x real time"), RTF (wall/audio), and our speed relative to faster-whisper's. Results go to
bench/results/engine-<date>.json (gitignored) and a table on stdout.

faster-whisper runs with its own defaults: OMP_WAIT_POLICY is not set here (voiceman
waits passively on its own); set it in the environment to compare otherwise. Run on an
otherwise idle machine: with active waiting, CTranslate2 slows down several times when
anything else shares the cores.

Run through bench/engine.sh (which prepares venv, models and build).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools" / "reference"))
import fw_oracle  # noqa: E402

CONFIGS = {
    "greedy": {"fw": {"beam_size": 1, "temperature": 0.0},
               "cli": ["--beam-size", "1", "--temperature", "0"]},
    "beam5": {"fw": {"beam_size": 5, "temperature": 0.0},
              "cli": ["--beam-size", "5", "--temperature", "0"]},
}

# voiceman -v logs this line per file (src/voiceman/cli/transcribe_command.cc).
TIMING_RE = re.compile(r"model load (?P<load>[0-9.eE+-]+) s, decode (?P<decode>[0-9.eE+-]+) s, "
                       r"transcribe (?P<transcribe>[0-9.eE+-]+) s")


def bench_fw(model, clips, compute, cfg, threads, warm):
    from faster_whisper import WhisperModel

    t0 = time.perf_counter()
    m = WhisperModel(str(model), device="cpu", compute_type=compute, cpu_threads=threads)
    load = time.perf_counter() - t0
    opts = CONFIGS[cfg]["fw"]
    segs, _ = m.transcribe(warm["path"], **opts)
    list(segs)
    files = []
    for c in clips:
        t0 = time.perf_counter()
        segs, info = m.transcribe(c["path"], **opts)
        text = "".join(s.text for s in segs)
        files.append({"clip": c["id"], "audio_s": info.duration,
                      "wall_s": time.perf_counter() - t0, "text": text})
    del m
    return {"load_s": load, "files": files}


def run_ours(binary, model, path, compute, cfg, threads):
    argv = [str(binary), "-v", "transcribe", path, "--model", str(model), "--threads", str(threads),
            "--compute-type", compute, "--json", *CONFIGS[cfg]["cli"]]
    t0 = time.perf_counter()
    p = subprocess.run(argv, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"exit {p.returncode}: {' '.join(argv)}\n{p.stderr[-2000:]}")
    result = json.loads(p.stdout)
    m = TIMING_RE.search(p.stderr)
    if m:
        result.setdefault("timings", {"load_s": float(m["load"]),
                                      "transcribe_s": float(m["decode"]) + float(m["transcribe"])})
    return wall, result


def bench_ours(binary, model, clips, compute, cfg, threads, warm):
    run_ours(binary, model, warm["path"], compute, cfg, threads)  # warm page cache
    files, loads = [], []
    for c in clips:
        wall, r = run_ours(binary, model, c["path"], compute, cfg, threads)
        t = r.get("timings") or {}
        if "load_s" in t:
            loads.append(float(t["load_s"]))
        files.append({"clip": c["id"], "audio_s": float(r.get("duration") or c["duration_s"]),
                      "process_wall_s": wall, "engine_s": t.get("transcribe_s"),
                      "load_s": t.get("load_s"),
                      "text": "".join(s.get("text", "") for s in r.get("segments", []))})
    load = statistics.median(loads) if loads else None
    load_included = False
    for f in files:
        if f["engine_s"] is not None:
            f["wall_s"] = float(f["engine_s"])
        elif f["load_s"] is not None:
            f["wall_s"] = f["process_wall_s"] - float(f["load_s"])
        else:
            f["wall_s"] = f["process_wall_s"]
            load_included = True
    return {"load_s": load, "load_included": load_included, "files": files}


def summarize(run):
    audio = sum(f["audio_s"] for f in run["files"])
    wall = sum(f["wall_s"] for f in run["files"])
    return {"audio_s": audio, "wall_s": wall, "speed_x": audio / wall if wall else None,
            "rtf": wall / audio if audio else None}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--voiceman-bin", default=str(REPO / "build" / "src" / "voiceman"))
    ap.add_argument("--model", default=str(REPO / "models" / "tiny.en"))
    ap.add_argument("--data", default=os.path.join(str(REPO), "..", "shared", "data"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--configs", default="greedy,beam5")
    ap.add_argument("--compute-types", default="float32,int8")
    ap.add_argument("--engines", default="faster-whisper,voiceman")
    ap.add_argument("--clips", default="", help="comma-separated clip ids (default: all)")
    ap.add_argument("--limit", type=int, default=0, help="use only the first N clips")
    ap.add_argument("--out", default="", help="result JSON (default bench/results/engine-<date>.json)")
    args = ap.parse_args(argv)

    clips = fw_oracle.load_manifest(args.data)
    if args.clips:
        wanted = set(args.clips.split(","))
        clips = [c for c in clips if c["id"] in wanted]
    if args.limit:
        clips = clips[: args.limit]
    if not clips:
        print("bench: no clips", file=sys.stderr)
        return 2
    warm = clips[0]  # also timed afterwards, like every clip
    engines = args.engines.split(",")
    binary = Path(args.voiceman_bin)
    if "voiceman" in engines and not os.access(binary, os.X_OK):
        print(f"bench: voiceman binary not found: {binary} (build it, or --engines faster-whisper)",
              file=sys.stderr)
        return 2

    results = {"date": time.strftime("%Y-%m-%dT%H:%M:%S"), "host": platform.node(),
               "cpu": _cpu_name(), "threads": args.threads, "model": str(args.model),
               "model_key": fw_oracle.model_key(Path(args.model)), **fw_oracle.versions(),
               "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
               "clips": len(clips), "audio_s": sum(c["duration_s"] for c in clips), "runs": []}
    print(f"bench: {len(clips)} clips, {results['audio_s']:.1f} s audio, {args.threads} threads, "
          f"model {results['model_key']}", flush=True)
    for compute in args.compute_types.split(","):
        for cfg in args.configs.split(","):
            for eng in engines:
                t0 = time.perf_counter()
                try:
                    if eng == "faster-whisper":
                        run = bench_fw(args.model, clips, compute, cfg, args.threads, warm)
                    elif eng == "voiceman":
                        run = bench_ours(binary, args.model, clips, compute, cfg, args.threads, warm)
                    else:
                        ap.error(f"unknown engine {eng}")
                except Exception as e:  # report and go on with the other runs
                    run = {"error": str(e), "files": []}
                run.update(engine=eng, config=cfg, compute_type=compute,
                           bench_wall_s=time.perf_counter() - t0)
                if run["files"]:
                    run["summary"] = summarize(run)
                results["runs"].append(run)
                s = run.get("summary")
                print(f"  {eng:15s} {cfg:7s} {compute:8s} " +
                      (f"{s['speed_x']:7.2f}x real time" if s else f"ERROR {run['error'][:200]}"),
                      flush=True)

    table = _table(results)
    results["table"] = table
    out = Path(args.out) if args.out else \
        REPO / "bench" / "results" / f"engine-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1, ensure_ascii=False))
    print()
    print("\n".join(table))
    print(f"\nbench: results in {out}")
    return 1 if any("error" in r for r in results["runs"]) else 0


def _table(results):
    rows = ["engine          config  compute    audio s   wall s   speed x      RTF  load s  ours/fw speed"]
    fw = {(r["config"], r["compute_type"]): r.get("summary") for r in results["runs"]
          if r["engine"] == "faster-whisper"}
    for r in results["runs"]:
        s = r.get("summary")
        if not s:
            rows.append(f"{r['engine']:15s} {r['config']:7s} {r['compute_type']:8s} ERROR")
            continue
        ratio = ""
        ref = fw.get((r["config"], r["compute_type"]))
        if r["engine"] != "faster-whisper" and ref:
            ratio = f"{s['speed_x'] / ref['speed_x']:.2f}"
        load = r.get("load_s")
        load = f"{load:6.2f}" if load is not None else "   n/a"
        note = " (load included)" if r.get("load_included") else ""
        rows.append(f"{r['engine']:15s} {r['config']:7s} {r['compute_type']:8s} {s['audio_s']:9.1f} "
                    f"{s['wall_s']:8.2f} {s['speed_x']:9.2f} {s['rtf']:8.4f}  {load}  {ratio:>13s}{note}")
    return rows


def _cpu_name():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


if __name__ == "__main__":
    sys.exit(main())
