"""Memory stability: `voiceman run` N times on the same subset of the corpus, each run a fresh
process into a fresh OUT (a shell loop, in effect), recording per run:
  - peak RSS of the process (wait4's ru_maxrss);
  - memory_peak_mb from OUT/performance_report.json, when the run writes one (RAM, and GPU
    when the report has a GPU figure);
  - peak GPU memory of the process, sampled by nvidia-smi every 0.5 s when it answers.
  - within the run: first, last and max of rss_mb / gpu_mem_used_mb over the batch lines
    of OUT/metrics.jsonl, when the run writes it (growth inside one process).
Prints each run and the growth first -> last and first -> max across runs (goal: < 5 %).
"""
from __future__ import annotations

import json
import os
import shutil

import bench


def _report_figures(out) -> dict:
    path = out / "performance_report.json"
    if not path.is_file():
        return {}
    report = json.loads(path.read_text())
    figures = {}

    def walk(prefix, node):  # memory_peak_mb may be flat or nested (ram / gpu)
        if isinstance(node, dict):
            for k, v in node.items():
                walk(f"{prefix}.{k}" if prefix else k, v)
        elif isinstance(node, (int, float)) and "peak" in prefix and "mb" in prefix.lower():
            figures[prefix] = float(node)

    walk("", report)
    return figures


def _within_run(out) -> dict:
    """First, last and max of the per-batch memory lines of OUT/metrics.jsonl (one process)."""
    path = out / "metrics.jsonl"
    if not path.is_file():
        return {}
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    series = {}
    for key in ("rss_mb", "gpu_mem_used_mb"):
        values = [b[key] for b in lines if isinstance(b.get(key), (int, float))]
        if values:
            series[key] = {"batches": len(values), "first": values[0], "last": values[-1], "max": max(values)}
    return series


def _growth(values):
    values = [v for v in values if v is not None]
    if len(values) < 2 or not values[0]:
        return None
    return {"first": values[0], "last": values[-1], "max": max(values),
            "first_to_last_pct": 100.0 * (values[-1] - values[0]) / values[0],
            "first_to_max_pct": 100.0 * (max(values) - values[0]) / values[0]}


def run(args, corpus, work) -> dict:
    names = [f["name"] for f in corpus["files"][: args.repeat_files]]
    inputs = [os.path.join(corpus["audio_dir"], n) for n in names]
    audio_s = sum(f["audio_s"] for f in corpus["files"][: args.repeat_files])
    help_text = bench.voiceman_flags(args.voiceman_bin)
    print(f"bench: memory check, voiceman {args.repeat} times on {len(inputs)} files "
          f"({audio_s:.0f} s audio)", flush=True)
    runs = []
    for i in range(args.repeat):
        out = work / "repeat-out"
        shutil.rmtree(out, ignore_errors=True)
        argv, _ = bench.voiceman_argv(args, help_text, inputs, out)
        r = bench.run_process(argv, work / f"repeat-{i + 1}.log", bench.LOADED_RE)
        r["report"] = _report_figures(out)
        r["within_run"] = _within_run(out)
        r["run"] = i + 1
        runs.append(r)
        extra = "".join(f", {k} {v:.0f}" for k, v in r["report"].items())
        gpu = f", GPU {r['gpu_peak_mb']} MiB" if r["gpu_peak_mb"] is not None else ""
        inside = "".join(f", {k} batch 1..{v['batches']}: {v['first']:.0f} -> {v['last']:.0f} (max {v['max']:.0f})"
                         for k, v in r["within_run"].items())
        print(f"  run {i + 1:2d}: exit {r['rc']}, {r['process_wall_s']:.1f} s, peak RSS "
              f"{r['peak_rss_mb']:.1f} MiB{gpu}{extra}{inside}", flush=True)
    series = {"peak_rss_mb": _growth([r["peak_rss_mb"] for r in runs]),
              "gpu_peak_mb": _growth([r["gpu_peak_mb"] for r in runs])}
    for key in sorted({k for r in runs for k in r["report"]}):
        series[f"report.{key}"] = _growth([r["report"].get(key) for r in runs])
    lines = []
    ok = True
    for key, g in series.items():
        if g is None:
            lines.append(f"{key}: not measured")
            continue
        good = g["first_to_last_pct"] < 5.0
        ok &= good
        lines.append(f"{key}: first {g['first']:.1f}, last {g['last']:.1f}, max {g['max']:.1f} -> "
                     f"growth {g['first_to_last_pct']:+.2f} % first->last, {g['first_to_max_pct']:+.2f} % "
                     f"first->max ({'< 5 %: ok' if good else '>= 5 %: NOT OK'})")
    print()
    print("\n".join(lines))
    failed = any(r["rc"] not in (0,) for r in runs)
    goal = f"GOAL memory growth < 5 % over {args.repeat} runs: {'MET' if ok and not failed else 'NOT MET'}"
    print(goal)
    return {"repeat": {"runs": runs, "files": names, "audio_s": audio_s, "growth": series},
            "table": lines, "goal": goal, "exit_code": 1 if failed else 0}
