#!/usr/bin/env python3
"""Corpus benchmark: `voiceman run` over a folder of mixed recordings against its peers.

Runners, one after another on the same machine, the same corpus, model, compute type,
threads and beam size (defaults: models/tiny.en, int8, 2 threads, beam 5):
  voiceman    `voiceman run AUDIO_DIR -o OUT --no-word-timestamps ...` (one process);
  fw          faster-whisper WhisperModel.transcribe, file by file (what the user ran);
  fw-batched  faster-whisper BatchedInferencePipeline, batch_size 8, file by file;
  whisperx    WhisperX's Python API over the folder (bundled pyannote VAD, no alignment),
              when it is installed in the bench venv; otherwise the reason is printed.
Model load is excluded everywhere: the Python peers time it alone (peers.py); voiceman's
time runs from its last model-load log line ("loaded <model>", then "VAD model ... loaded"
in batched mode; stderr, read as it comes) to its exit, so it includes hashing, decoding,
VAD, transcription and writing outputs, but not the process start, the input discovery and
the model loads. Each runner gets one untimed warm-up file first.
Every runner is credited with the same audio seconds (the corpus's, counted in samples).
Peak RSS is the runner process's maximum resident set (wait4), model included.
WER: corpus-level, one normalisation for all (see wer.py).

--repeat N runs only the memory-stability check instead: voiceman N times on the first
--repeat-files files (fresh OUT each time), peak RSS (and GPU memory when nvidia-smi
answers) per run, growth first -> last (goal < 5 %).

Run through bench/corpus.sh (which prepares the venv, the models and the build).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
import build_corpus  # noqa: E402
import wer  # noqa: E402

RUNNERS = ["voiceman", "fw", "fw-batched", "whisperx"]
LABELS = {"voiceman": "voiceman run", "fw": "faster-whisper transcribe",
          "fw-batched": "faster-whisper batched", "whisperx": "whisperx"}
# Model-load lines of `voiceman -v run` (Whisper model, then the VAD model in batched mode):
# the timed part starts at the last of them.
LOADED_RE = re.compile(r"^voiceman: (loaded |VAD model .* loaded)")


def child_env() -> dict:
    env = dict(os.environ)
    env["OMP_WAIT_POLICY"] = "PASSIVE"  # both sides: active spinning wrecks shared cores
    return env


class GpuSampler:
    """Peak GPU memory (MiB) of one process, sampled by nvidia-smi; inert without it."""

    def __init__(self, pid: int):
        self.pid, self.peak_mb, self._stop = pid, None, threading.Event()
        self._thread = None
        if shutil.which("nvidia-smi"):
            self._thread = threading.Thread(target=self._loop, daemon=True)
            self._thread.start()

    def _loop(self):
        while not self._stop.wait(0.5):
            try:
                out = subprocess.run(["nvidia-smi", "--query-compute-apps=pid,used_memory",
                                      "--format=csv,noheader,nounits"], capture_output=True,
                                     text=True, timeout=5).stdout
            except (OSError, subprocess.SubprocessError):
                return
            for line in out.splitlines():
                parts = [p.strip() for p in line.split(",")]
                if len(parts) == 2 and parts[0] == str(self.pid) and parts[1].isdigit():
                    self.peak_mb = max(self.peak_mb or 0, int(parts[1]))

    def stop(self):
        self._stop.set()
        if self._thread:
            self._thread.join()
        return self.peak_mb


def run_process(argv, log_path: Path, marker=None) -> dict:
    """Runs argv; returns exit code, wall time, peak RSS (MiB) and the last marker line's time."""
    t0 = time.perf_counter()
    marker_t = None
    with open(log_path, "w") as log:
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.PIPE, text=True, env=child_env(),
                             stdin=subprocess.DEVNULL)
        gpu = GpuSampler(p.pid)
        for line in p.stderr:  # read as it comes, so the marker's time is when it was logged
            if marker and marker.search(line):
                marker_t = time.perf_counter()
            log.write(line)
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        end = time.perf_counter()
    return {"rc": p.returncode, "process_wall_s": end - t0, "peak_rss_mb": usage.ru_maxrss / 1024,
            "gpu_peak_mb": gpu.stop(), "after_marker_s": end - marker_t if marker_t else None,
            "load_s": marker_t - t0 if marker_t else None}


def voiceman_flags(binary: str) -> str:
    p = subprocess.run([binary, "run", "--help"], capture_output=True, text=True)
    return p.stdout + p.stderr


def voiceman_argv(args, help_text: str, inputs, out: Path) -> tuple[list, dict]:
    argv = [args.voiceman_bin, "-v", "run", *inputs, "-o", str(out), "--model", args.model,
            "--compute-type", args.compute_type, "--threads", str(args.threads),
            "--beam-size", str(args.beam_size)]
    notes = {}
    if "--no-word-timestamps" in help_text:  # the peers do not time words either
        argv.append("--no-word-timestamps")
    if "--no-resume" in help_text:
        argv.append("--no-resume")
    if args.batch_size:
        flag = next((f for f in ("--batch-size", "--batch-windows") if f in help_text), None)
        if flag is None:
            raise SystemExit("bench: --batch-size given but `voiceman run` has no batch option")
        argv += [flag, str(args.batch_size)]
        notes["batch_flag"] = flag
    argv += shlex.split(args.voiceman_args)
    return argv, notes


def transcript_text(out: Path, name: str):
    for p in (out / "transcripts" / f"{name}.json", out / "transcripts" / f"{Path(name).stem}.json"):
        if p.is_file():
            return "".join(s.get("text", "") for s in json.loads(p.read_text()).get("segments", []))
    return None


def bench_voiceman(args, corpus, work: Path) -> dict:
    help_text = voiceman_flags(args.voiceman_bin)
    audio_dir = corpus["audio_dir"]
    warm = min(corpus["files"], key=lambda f: f["audio_s"])
    argv, notes = voiceman_argv(args, help_text, [os.path.join(audio_dir, warm["name"])], work / "vm-warm")
    run_process(argv, work / "voiceman-warm.log")  # page cache, untimed
    out = work / "voiceman-out"
    argv, notes = voiceman_argv(args, help_text, [audio_dir], out)
    r = run_process(argv, work / "voiceman.log", LOADED_RE)
    result = {"argv": argv, **notes, **r, "load_included": r["after_marker_s"] is None}
    result["wall_s"] = r["after_marker_s"] if r["after_marker_s"] is not None else r["process_wall_s"]
    result["files"] = []
    for f in corpus["files"]:
        text = transcript_text(out, f["name"])
        result["files"].append({"name": f["name"], "text": text} if text is not None
                               else {"name": f["name"], "error": "no transcript"})
    report = out / "performance_report.json"
    if report.is_file():
        result["performance_report"] = json.loads(report.read_text())
    if r["rc"] not in (0, 1):
        tail = (work / "voiceman.log").read_text().strip().splitlines()[-1:] or ["?"]
        result["error"] = f"voiceman exited {r['rc']}: {tail[0][:300]}"
    return result


def whisperx_unavailable(python: str) -> str | None:
    p = subprocess.run([python, "-c", "import whisperx"], capture_output=True, text=True, env=child_env())
    if p.returncode == 0:
        return None
    # The venv's own folder: bin/python is a symlink that must not be resolved.
    status = Path(os.path.abspath(python)).parent.parent / "whisperx-status.txt"
    reason = status.read_text().splitlines()[0] if status.is_file() else ""
    last = (p.stderr.strip().splitlines() or ["?"])[-1]
    return f"{reason + '; ' if reason else ''}import whisperx fails: {last}"


def bench_peer(args, name, corpus_json: Path, work: Path) -> dict:
    out = work / f"{name}.json"
    argv = [args.python, str(HERE / "peers.py"), name, "--corpus", str(corpus_json), "--model", args.model,
            "--out", str(out), "--threads", str(args.threads), "--compute-type", args.compute_type,
            "--beam-size", str(args.beam_size), "--batch-size", str(args.peer_batch_size)]
    r = run_process(argv, work / f"{name}.log")
    if r["rc"] != 0 or not out.is_file():
        tail = (work / f"{name}.log").read_text().strip().splitlines()[-1:] or ["?"]
        return {"argv": argv, **r, "files": [], "error": f"exit {r['rc']}: {tail[0][:300]}"}
    return {"argv": argv, **r, **json.loads(out.read_text())}


def score(result: dict, corpus: dict) -> None:
    refs, hyps = [], []
    by_name = {f["name"]: f for f in result.get("files", [])}
    for f in corpus["files"]:
        got = by_name.get(f["name"], {})
        refs.append(f["reference"])
        hyps.append(got.get("text") or "")  # a missing transcript counts as all deletions
    ok = sum(1 for f in result.get("files", []) if "text" in f and f["text"] is not None)
    result["files_ok"] = ok
    result["audio_s"] = corpus["audio_s"]
    wall = result.get("wall_s")
    result["throughput"] = corpus["audio_s"] / wall if wall and ok else None
    result["wer"] = wer.corpus_wer(refs, hyps) if result.get("files") else None


def table(results: dict, order) -> list[str]:
    rows = [f"{'runner':27s} {'files':>7s} {'audio s':>8s} {'wall s':>8s} {'audio-s/s':>9s} "
            f"{'load s':>6s} {'RSS MB':>7s} {'WER %':>6s} {'ours/it':>7s}"]
    ours = results.get("voiceman", {}).get("throughput")
    for name in order:
        r = results.get(name)
        if r is None:
            continue
        if r.get("skipped"):
            rows.append(f"{LABELS[name]:27s} not run: {r['skipped']}")
            continue
        if r.get("error") and not r.get("throughput"):
            rows.append(f"{LABELS[name]:27s} ERROR {r['error']}")
            continue
        w = r["wer"]["wer"] if r.get("wer") else None
        ratio = f"{ours / r['throughput']:.2f}" if ours and name != "voiceman" else ""
        load = f"{r['load_s']:.2f}" if r.get("load_s") is not None else "n/a"
        rows.append(f"{LABELS[name]:27s} {r['files_ok']:3d}/{len(r['files']):<3d} {r['audio_s']:8.1f} "
                    f"{r['wall_s']:8.2f} {r['throughput']:9.2f} {load:>6s} {r['peak_rss_mb']:7.0f} "
                    f"{w if w is None else round(w, 2):>6} {ratio:>7s}"
                    + (" (load included)" if r.get("load_included") else ""))
    return rows


def goal_line(results: dict) -> str:
    ours, peer = results.get("voiceman"), results.get("fw-batched")
    if not (ours and peer and ours.get("throughput") and peer.get("throughput")
            and ours.get("wer") and peer.get("wer")):
        return "GOAL (ours >= 2x BatchedInferencePipeline at WER within 0.5 points): not measured"
    ratio = ours["throughput"] / peer["throughput"]
    dw = ours["wer"]["wer"] - peer["wer"]["wer"]
    met = ratio >= 2.0 and dw <= 0.5
    return (f"GOAL ours >= 2x BatchedInferencePipeline throughput at WER within 0.5 points: "
            f"{ratio:.2f}x, WER {ours['wer']['wer']:.2f} vs {peer['wer']['wer']:.2f} ({dw:+.2f} points) "
            f"-> {'MET' if met else 'NOT MET'}")


def host_info() -> dict:
    cpu = platform.processor()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    git = subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty"], capture_output=True,
                         text=True).stdout.strip()
    return {"host": platform.node(), "cpu": cpu, "cores": os.cpu_count(),
            "load_avg_at_end": os.getloadavg(), "git": git or None}


def _voiceman_version(binary: str):
    try:
        return subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip() or None
    except OSError:
        return None


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--voiceman-bin", default=str(REPO / "build" / "src" / "voiceman"))
    ap.add_argument("--model", default=str(REPO / "models" / "tiny.en"))
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data"))
    ap.add_argument("--corpus-dir", dest="out_corpus", default=str(REPO / "bench" / ".corpus"),
                    help="where the corpus is built and cached (default bench/.corpus)")
    ap.add_argument("--quick", action="store_true", help="the small corpus (12 files, ~4 min audio)")
    ap.add_argument("--files", type=int, default=0, help="corpus size (default 110; quick 12)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--runners", default=",".join(RUNNERS), help=f"subset of {','.join(RUNNERS)}")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--compute-type", default="int8")
    ap.add_argument("--beam-size", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=0,
                    help="voiceman's batch size (--batch-size, else --batch-windows); default: its own")
    ap.add_argument("--peer-batch-size", type=int, default=8, help="batch_size of the batched peers")
    ap.add_argument("--voiceman-args", default="", help="extra `voiceman run` arguments, one string")
    ap.add_argument("--python", default=sys.executable, help="Python of the peers (the bench venv)")
    ap.add_argument("--repeat", type=int, default=0, help="memory check only: voiceman N times")
    ap.add_argument("--repeat-files", type=int, default=20, help="files per --repeat run")
    ap.add_argument("--keep", action="store_true", help="keep the runners' outputs and logs")
    ap.add_argument("--out", default="", help="result JSON (default bench/results/corpus-<date>.json)")
    args = ap.parse_args(argv)
    args.model = str(Path(args.model).resolve())
    args.voiceman_bin = str(Path(args.voiceman_bin).resolve())
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    runners = [r for r in args.runners.split(",") if r]
    bad = [r for r in runners if r not in RUNNERS]
    if bad:
        print(f"bench: unknown runner(s) {bad}; choose from {RUNNERS}", file=sys.stderr)
        return 2
    if ("voiceman" in runners or args.repeat) and not os.access(args.voiceman_bin, os.X_OK):
        print(f"bench: voiceman binary not found: {args.voiceman_bin} (--voiceman-bin)", file=sys.stderr)
        return 2
    corpus = build_corpus.build_for(argparse.Namespace(out=args.out_corpus, data=args.data, files=args.files,
                                                       seed=args.seed, quick=args.quick))
    corpus_json = Path(corpus["audio_dir"]).parent / "corpus.json"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = Path(args.out) if args.out else REPO / "bench" / "results" / \
        f"corpus-{'repeat-' if args.repeat else ''}{stamp}.json"
    work = Path(tempfile.mkdtemp(prefix="voiceman-corpus-bench-"))
    load_start = os.getloadavg()
    if load_start[0] > 0.5 * (os.cpu_count() or 1):
        print(f"bench: WARNING the machine is not idle (load average {load_start[0]:.1f} on "
              f"{os.cpu_count()} cores): the timings will be noisy", flush=True)
    print(f"bench: {len(corpus['files'])} files, {corpus['audio_s'] / 60:.1f} min audio "
          f"({corpus['formats']}), model {Path(args.model).name} {args.compute_type}, "
          f"{args.threads} threads, beam {args.beam_size}; work folder {work}", flush=True)
    try:
        if args.repeat:
            import stability

            results = stability.run(args, corpus, work)
        else:
            results = compare(args, runners, corpus, corpus_json, work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    results.update(date=time.strftime("%Y-%m-%dT%H:%M:%S"), **host_info(),
                   corpus={k: corpus[k] for k in ("key", "seed", "audio_s", "formats", "kinds", "audio_dir")}
                   | {"files": len(corpus["files"])},
                   options={k: getattr(args, k) for k in ("model", "compute_type", "threads", "beam_size",
                                                          "batch_size", "peer_batch_size", "voiceman_args",
                                                          "voiceman_bin")},
                   omp_wait_policy="PASSIVE", work_folder=str(work) if args.keep else None,
                   load_avg_at_start=load_start, voiceman_version=_voiceman_version(args.voiceman_bin))
    exit_code = results.pop("exit_code", 0)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1, ensure_ascii=False))
    print(f"\nbench: results in {out}")
    return exit_code


def compare(args, runners, corpus, corpus_json: Path, work: Path) -> dict:
    results = {}
    for name in runners:
        t0 = time.perf_counter()
        print(f"bench: running {LABELS[name]} ...", flush=True)
        if name == "voiceman":
            r = bench_voiceman(args, corpus, work)
        else:
            why = whisperx_unavailable(args.python) if name == "whisperx" else None
            r = {"skipped": why} if why else bench_peer(args, name, corpus_json, work)
        if not r.get("skipped") and r.get("files"):
            score(r, corpus)
        r["bench_wall_s"] = time.perf_counter() - t0
        results[name] = r
        if r.get("skipped"):
            print(f"  {LABELS[name]}: not run: {r['skipped']}", flush=True)
        elif r.get("throughput"):
            print(f"  {LABELS[name]}: {r['throughput']:.2f} audio-s/s, WER {r['wer']['wer']:.2f} %"
                  + (f" ({r['error']})" if r.get("error") else ""), flush=True)
        else:
            print(f"  {LABELS[name]}: ERROR {r.get('error')}", flush=True)
    rows = table(results, runners)
    goal = goal_line(results)
    print()
    print("\n".join(rows))
    ours = results.get("voiceman", {}).get("throughput")
    if ours:
        for name in runners:
            r = results[name]
            if name != "voiceman" and r.get("throughput"):
                print(f"voiceman / {LABELS[name]}: {ours / r['throughput']:.2f}x throughput, "
                      f"WER {results['voiceman']['wer']['wer'] - r['wer']['wer']:+.2f} points")
    print("Model load excluded for every runner; WER: lowercase, punctuation removed, numbers as spoken.")
    print(goal)
    failed = [n for n in runners if results[n].get("error") or
              (not results[n].get("skipped") and results[n].get("files_ok", 0) < len(corpus["files"]))]
    return {"runs": results, "table": rows, "goal": goal, "exit_code": 1 if failed else 0}


if __name__ == "__main__":
    sys.exit(main())
