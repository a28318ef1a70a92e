"""DER bench for speaker diarization on ../shared/data (sample.wav and ami/*.wav).

Systems, all scored by pyannote.metrics' DiarizationErrorRate over the whole file (UEM =
[0, duration]) at collar 0 and 0.25 s (pyannote.metrics' collar: the total width removed
around each reference boundary, half on each side), overall (summed over files) and per file:
  ours      voiceman-diarize (native C++: whisperx segmentation + resemblyzer + our pipeline)
  floor     resemblyzer done the obvious way: webrtcvad speech frames, partial embeddings
            every 1/1.3 s over the whole file, average-linkage cosine clustering (sklearn),
            each speech frame labelled by its nearest partial
  pyannote  pyannote.audio's SpeakerDiarization built from the same whisperx segmentation
            checkpoint, with resemblyzer as its embedding (an adapter: the gated WeSpeaker /
            PLDA models cannot be fetched offline) and its AgglomerativeClustering
Options are the same for every file. The baselines' thresholds (floor 0.4, pyannote 0.6) are
the best of the few values tried on these same files (floor 0.3/0.4/0.5, pyannote 0.6/0.7/0.8),
as are ours (threshold; segmentation step 0.1 and embedding step 0.3, picked from 0.1-0.25 and
0.1-0.5): there is no held-out set, and with about 100 s of reference speech in the AMI clips
one second of error is one point of DER. Run through bench/diarization.sh.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
from pyannote.core import Annotation, Segment, Timeline
from pyannote.metrics.diarization import DiarizationErrorRate

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("VOICEMAN_SHARED_DATA", ROOT.parent / "shared" / "data"))
SR = 16000


def load_files(only: list[str] | None) -> list[dict]:
    manifest = json.loads((DATA / "manifest.json").read_text())
    files = [e for e in manifest if e.get("rttm") and (e["id"] == "sample" or e["id"].startswith("ami_"))]
    if only:
        files = [e for e in files if e["id"] in only]
    return files


def read_rttm(path: Path | str, text: str | None = None) -> Annotation:
    ann = Annotation()
    lines = text.splitlines() if text is not None else Path(path).read_text().splitlines()
    for line in lines:
        f = line.split()
        if len(f) >= 8 and f[0] == "SPEAKER":
            start, dur = float(f[3]), float(f[4])
            ann[Segment(start, start + dur), len(ann)] = f[7]
    return ann


def read_wav(path: Path) -> np.ndarray:
    wav, sr = sf.read(str(path), dtype="float32", always_2d=True)
    wav = wav.mean(axis=1)
    if sr != SR:
        raise SystemExit(f"{path}: expected 16 kHz, got {sr}")
    return wav


# -- ours ---------------------------------------------------------------------------------
def run_ours(entry: dict, args) -> tuple[Annotation, dict]:
    with tempfile.TemporaryDirectory() as tmp:
        js = Path(tmp) / "out.json"
        cmd = [args.voiceman_diarize, str(DATA / entry["audio"]), "--threads", str(args.threads),
               "--json", str(js), "--file-id", entry["id"]] + args.ours_args.split()
        t0 = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        wall = time.perf_counter() - t0
        if out.returncode != 0:
            raise SystemExit(f"voiceman-diarize failed on {entry['id']}: {out.stderr}")
        info = json.loads(js.read_text())
    info["wall_s"] = wall
    return read_rttm(None, out.stdout), info


# -- floor --------------------------------------------------------------------------------
def speech_mask_webrtcvad(wav: np.ndarray, aggressiveness: int = 3, smooth: int = 8) -> np.ndarray:
    import webrtcvad

    vad = webrtcvad.Vad(aggressiveness)
    hop = int(0.03 * SR)
    pcm = (np.clip(wav, -1, 1) * 32767).astype(np.int16)
    flags = []
    for i in range(0, len(pcm) - hop + 1, hop):
        flags.append(vad.is_speech(pcm[i:i + hop].tobytes(), SR))
    flags = np.array(flags, dtype=float)
    if smooth > 1 and len(flags) >= smooth:  # moving average, as resemblyzer's trimming does
        flags = np.convolve(flags, np.ones(smooth) / smooth, mode="same")
    return flags > 0.5, hop


_encoder = None


def encoder():
    global _encoder
    if _encoder is None:
        from resemblyzer import VoiceEncoder

        _encoder = VoiceEncoder(device="cpu", verbose=False)
    return _encoder


def run_floor(entry: dict, args) -> tuple[Annotation, dict]:
    from resemblyzer.audio import normalize_volume
    from sklearn.cluster import AgglomerativeClustering

    t0 = time.perf_counter()
    wav = normalize_volume(read_wav(DATA / entry["audio"]), -30, increase_only=True)
    _, partials, slices = encoder().embed_utterance(wav, return_partials=True)
    speech, hop = speech_mask_webrtcvad(wav)
    centers = np.array([(s.start + s.stop) / 2 / SR for s in slices])
    if len(partials) > 1:
        labels = AgglomerativeClustering(n_clusters=None, distance_threshold=args.floor_threshold,
                                         metric="cosine", linkage="average").fit_predict(partials)
    else:
        labels = np.zeros(len(partials), dtype=int)
    ann = Annotation()
    t = 0
    n = len(speech)
    while t < n:
        if not speech[t]:
            t += 1
            continue
        mid = (t + 0.5) * hop / SR
        lab = labels[int(np.argmin(np.abs(centers - mid)))]
        a = t
        while t < n and speech[t] and labels[int(np.argmin(np.abs(centers - (t + 0.5) * hop / SR)))] == lab:
            t += 1
        ann[Segment(a * hop / SR, t * hop / SR), len(ann)] = f"S{lab}"
    return ann.support(), {"wall_s": time.perf_counter() - t0}


# -- pyannote -----------------------------------------------------------------------------
class ResemblyzerForPyannote:
    """pyannote.audio's embedding interface over resemblyzer: embeds the samples under the
    (frame-level) mask of each chunk; too little speech gives NaN, which pyannote skips."""

    sample_rate = SR
    dimension = 256
    metric = "cosine"
    min_num_samples = int(0.5 * SR)

    def to(self, device):
        return self

    def __call__(self, waveforms, masks=None):
        from resemblyzer.audio import normalize_volume

        waveforms = waveforms.numpy() if hasattr(waveforms, "numpy") else np.asarray(waveforms)
        out = np.full((waveforms.shape[0], self.dimension), np.nan, dtype=np.float32)
        for i in range(waveforms.shape[0]):
            w = waveforms[i, 0]
            if masks is not None:
                m = masks[i].numpy() if hasattr(masks[i], "numpy") else np.asarray(masks[i])
                idx = np.minimum((np.arange(len(w)) * len(m)) // len(w), len(m) - 1)
                w = w[m[idx] > 0.5]
            if len(w) < self.min_num_samples:
                continue
            out[i] = encoder().embed_utterance(normalize_volume(w, -30, increase_only=True))
        return out


_pipeline = None


def pyannote_pipeline(args):
    global _pipeline
    if _pipeline is None:
        import pyannote.audio.pipelines.speaker_diarization as sd

        sd.PretrainedSpeakerEmbedding = lambda *a, **k: ResemblyzerForPyannote()
        sd.get_plda = lambda *a, **k: None  # PLDA is only used by VBx clustering (gated)
        ckpt = str(ROOT / "models" / "diarization" / "segmentation-whisperx.bin")
        p = sd.SpeakerDiarization(segmentation=ckpt, embedding="resemblyzer", plda="none",
                                  clustering="AgglomerativeClustering",
                                  embedding_exclude_overlap=True, segmentation_step=0.1,
                                  embedding_batch_size=32, segmentation_batch_size=32)
        p.instantiate({"segmentation": {"threshold": 0.5, "min_duration_off": 0.0},
                       "clustering": {"method": "centroid", "min_cluster_size": 12,
                                      "threshold": args.pyannote_threshold}})
        _pipeline = p
    return _pipeline


def run_pyannote(entry: dict, args) -> tuple[Annotation, dict]:
    import torch

    torch.set_num_threads(args.threads)
    wav = read_wav(DATA / entry["audio"])
    t0 = time.perf_counter()
    out = pyannote_pipeline(args)({"waveform": torch.from_numpy(wav)[None], "sample_rate": SR})
    ann = getattr(out, "speaker_diarization", out)
    return ann, {"wall_s": time.perf_counter() - t0}


SYSTEMS = {"ours": run_ours, "floor": run_floor, "pyannote": run_pyannote}


def sweep_ours(files: list[dict], args) -> dict:
    """Overall DER of ours for each clustering threshold (one model pass per file)."""
    thresholds = args.sweep_thresholds.split(",")
    metrics = {t: {c: DiarizationErrorRate(collar=c, skip_overlap=False) for c in (0.0, 0.25)}
               for t in thresholds}
    extra = args.ours_args + " --threshold " + args.sweep_thresholds
    for e in files:
        cmd = [args.voiceman_diarize, str(DATA / e["audio"]), "--threads", str(args.threads),
               "--file-id", e["id"]] + extra.split()
        out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=True).stdout
        sections = {}
        for chunk in out.split("# threshold=")[1:]:
            head, _, body = chunk.partition("\n")
            sections[head.strip()] = body
        ref = read_rttm(DATA / e["rttm"])
        uem = Timeline([Segment(0, e["duration_s"])])
        for t, raw in zip(thresholds, sections.values()):
            hyp = read_rttm(None, raw)
            ders = [metrics[t][c](ref, hyp, uem=uem) * 100 for c in (0.0, 0.25)]
            print(f"sweep {t:>6s} {e['id']:10s} DER {ders[0]:6.1f}/{ders[1]:6.1f}  "
                  f"speakers {len(hyp.labels())}/{len(ref.labels())}", flush=True)
    table = {t: {f"der_c{c}": float(abs(m)) for c, m in ms.items()} for t, ms in metrics.items()}
    for t, r in table.items():
        print(f"threshold {t:>6s}: DER {r['der_c0.0']*100:5.1f}% (collar 0)  {r['der_c0.25']*100:5.1f}% (collar 0.25)")
    return table


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--voiceman-diarize", default=str(ROOT / "build" / "src" / "voiceman-diarize"))
    ap.add_argument("--systems", default="ours,floor,pyannote")
    ap.add_argument("--files", default="", help="comma-separated manifest ids (default: all)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ours-args", default="", help="extra voiceman-diarize options")
    ap.add_argument("--floor-threshold", type=float, default=0.4,
                    help="floor: cosine distance threshold of the average-linkage clustering")
    ap.add_argument("--pyannote-threshold", type=float, default=0.6,
                    help="pyannote: centroid-linkage threshold (euclidean on unit vectors)")
    ap.add_argument("--sweep-thresholds", default="",
                    help="comma list: only sweep our clustering threshold and print overall DERs")
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    files = load_files([f for f in args.files.split(",") if f])
    if args.sweep_thresholds:
        sweep_ours(files, args)
        return 0
    systems = [s for s in args.systems.split(",") if s]
    collars = (0.0, 0.25)
    results = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "threads": args.threads,
               "ours_args": args.ours_args, "floor_threshold": args.floor_threshold,
               "pyannote_threshold": args.pyannote_threshold, "systems": {}}
    for name in systems:
        metrics = {c: DiarizationErrorRate(collar=c, skip_overlap=False) for c in collars}
        ami = {c: DiarizationErrorRate(collar=c, skip_overlap=False) for c in collars}
        per_file, audio_s, busy_s = {}, 0.0, 0.0
        for e in files:
            ref = read_rttm(DATA / e["rttm"])
            hyp, info = SYSTEMS[name](e, args)
            uem = Timeline([Segment(0, e["duration_s"])])
            row = {f"der_c{c}": float(metrics[c](ref, hyp, uem=uem)) for c in collars}
            if e["id"].startswith("ami_"):
                for c in collars:
                    ami[c](ref, hyp, uem=uem)
            row["speakers"] = len(hyp.labels())
            row["ref_speakers"] = len(ref.labels())
            row["wall_s"] = info["wall_s"]
            if name == "ours":
                row["diarize_s"] = info["timings"]["diarize_s"]
                row["timings"] = info["timings"]
                row["counts"] = info["counts"]
                busy_s += info["timings"]["diarize_s"]
            else:
                busy_s += info["wall_s"]
            audio_s += e["duration_s"]
            per_file[e["id"]] = row
            print(f"{name:9s} {e['id']:10s} DER {row['der_c0.0']*100:6.2f}% (collar 0)  "
                  f"{row['der_c0.25']*100:6.2f}% (collar 0.25)  speakers {row['speakers']}/"
                  f"{row['ref_speakers']}  {row['wall_s']:.2f} s", flush=True)
        overall = {f"der_c{c}": float(abs(metrics[c])) for c in collars}
        overall["rtf"] = busy_s / audio_s if audio_s else 0.0
        if any(e["id"].startswith("ami_") for e in files):
            overall.update({f"ami_der_c{c}": float(abs(ami[c])) for c in collars})
        results["systems"][name] = {"overall": overall, "files": per_file}
        print(f"{name:9s} OVERALL    DER {overall['der_c0.0']*100:6.2f}% (collar 0)  "
              f"{overall['der_c0.25']*100:6.2f}% (collar 0.25)  RTF {overall['rtf']:.3f}", flush=True)
        if "ami_der_c0.0" in overall:
            print(f"{name:9s} AMI only   DER {overall['ami_der_c0.0']*100:6.2f}% (collar 0)  "
                  f"{overall['ami_der_c0.25']*100:6.2f}% (collar 0.25)", flush=True)
    print("\nsystem    " + " ".join(f"{e['id']:>10s}" for e in files) +
          "     overall    AMI only  (DER %, collar 0 / 0.25)")
    for name, r in results["systems"].items():
        cells = [f"{r['files'][e['id']]['der_c0.0']*100:4.1f}/{r['files'][e['id']]['der_c0.25']*100:4.1f}" for e in files]
        o = r["overall"]
        tail = f"  {o['ami_der_c0.0']*100:4.1f}/{o['ami_der_c0.25']*100:4.1f}" if "ami_der_c0.0" in o else ""
        print(f"{name:9s} " + " ".join(f"{c:>10s}" for c in cells) +
              f"  {o['der_c0.0']*100:4.1f}/{o['der_c0.25']*100:4.1f}" + tail)
    out = Path(args.out) if args.out else ROOT / "bench" / "results" / f"diarization-{datetime.date.today()}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
