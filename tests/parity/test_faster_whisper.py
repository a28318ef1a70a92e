"""voiceman vs faster-whisper 1.2.1, float32, same model folder, same clips, same threads.

Checks run cheapest and most basic first (CTest runs pytest with -x):
  mel       max |ours - fw| <= 1e-3 on every clip (our mel fed faster-whisper's waveform)
  encoder   ||ours - fw|| / ||fw|| <= 1e-3 on every clip's first 30 s window
  jfk       the JFK clip says the expected sentence (default options)
  json      `voiceman transcribe --json` has the documented shape
  greedy    identical normalized text on >= 90 % of clips; WER within 0.5 points of fw's
  beam5     WER within 0.5 points of fw's
  words     median |start diff| and |end diff| of matched words <= 0.1 s; median
            |probability diff| <= 0.001 (a softmax over the text tokens, as the reference)
"""
from __future__ import annotations

import difflib
import statistics

import jiwer
import numpy as np
import pytest

from conftest import as_float32
from fw_oracle import full_text, normalize_text

MEL_TOL = 1e-3
ENC_REL_TOL = 1e-3
ENC_BATCH = 8
SAME_TEXT_MIN = 0.90
WER_POINTS = 0.5
WORD_TIME_TOL = 0.1
WORD_MATCH_MIN = 0.90
WORD_PROB_TOL = 0.001
JFK_TEXT = ("And so my fellow Americans, ask not what your country can do for you, "
            "ask what you can do for your country.")


def _wer_clips(clips):
    """English clips that have a reference transcript."""
    return [c for c in clips if c.get("language") == "en" and (c.get("reference_text") or "").strip()]


def _wer(refs, hyps) -> float:
    return float(jiwer.wer(refs, hyps))


def test_mel(clips, oracle, voiceman, scratch, figures):
    fig = figures("mel")
    worst = []
    failures = []
    for c in clips:
        ref = oracle.mel(c["path"])
        out = scratch / f"mel-{c['id']}.npy"
        voiceman.dev("mel", "--audio", oracle.audio_path(c["path"]), "--n-mels", oracle.n_mels,
                     "--out", out)
        ours = as_float32(out)
        if ours.shape != ref.shape:
            failures.append(f"{c['id']}: shape {ours.shape} != faster-whisper {ref.shape}")
            continue
        d = float(np.max(np.abs(ours - ref)))
        worst.append((d, c["id"]))
        if not d <= MEL_TOL:
            failures.append(f"{c['id']}: max abs diff {d:.3g}")
    worst.sort(reverse=True)
    fig.update(clips=len(clips), tolerance=MEL_TOL,
               max_abs_diff=worst[0][0] if worst else None,
               worst_clips=[f"{i}={d:.3g}" for d, i in worst[:5]])
    assert not failures, f"mel differs from faster-whisper on {len(failures)} clips:\n" + \
        "\n".join(failures)


def test_encoder(clips, oracle, voiceman, scratch, figures):
    fig = figures("encoder")
    results = {}
    # One clip through the 2-D input path, the rest in batches ([B, n_mels, 3000]).
    single, rest = clips[:1], clips[1:]
    for c in single:
        inp = scratch / f"enc-in-{c['id']}.npy"
        np.save(inp, oracle.window0(c["path"]))
        out = scratch / f"enc-out-{c['id']}.npy"
        voiceman.dev("encode", "--model", oracle.model_dir, "--features", inp, "--out", out,
                     "--compute-type", "float32", "--threads", voiceman.threads)
        results[c["id"]] = as_float32(out)
    for i in range(0, len(rest), ENC_BATCH):
        batch = rest[i:i + ENC_BATCH]
        inp = scratch / f"enc-in-batch{i}.npy"
        np.save(inp, np.stack([oracle.window0(c["path"]) for c in batch]))
        out = scratch / f"enc-out-batch{i}.npy"
        voiceman.dev("encode", "--model", oracle.model_dir, "--features", inp, "--out", out,
                     "--compute-type", "float32", "--threads", voiceman.threads)
        ours = as_float32(out)
        assert ours.ndim == 3 and ours.shape[0] == len(batch), \
            f"encode of a batch of {len(batch)} gave shape {ours.shape}"
        for j, c in enumerate(batch):
            results[c["id"]] = ours[j]
    failures, rels, maxabs = [], [], []
    for c in clips:
        ref = oracle.encoder(c["path"])
        ours = results[c["id"]]
        if ours.ndim == 3 and ours.shape[0] == 1:
            ours = ours[0]
        if ours.shape != ref.shape:
            failures.append(f"{c['id']}: shape {ours.shape} != faster-whisper {ref.shape}")
            continue
        rel = float(np.linalg.norm((ours - ref).ravel()) / np.linalg.norm(ref.ravel()))
        rels.append((rel, c["id"]))
        maxabs.append(float(np.max(np.abs(ours - ref))))
        if not rel <= ENC_REL_TOL:
            failures.append(f"{c['id']}: relative error {rel:.3g}")
    rels.sort(reverse=True)
    fig.update(clips=len(clips), tolerance=ENC_REL_TOL,
               max_rel_error=rels[0][0] if rels else None,
               median_rel_error=statistics.median(r for r, _ in rels) if rels else None,
               max_abs_diff=max(maxabs) if maxabs else None,
               worst_clips=[f"{i}={r:.3g}" for r, i in rels[:5]])
    assert not failures, f"encoder output differs on {len(failures)} clips:\n" + \
        "\n".join(failures)


def _jfk(clips):
    jfk = [c for c in clips if c["id"] == "jfk"]
    if not jfk:
        pytest.skip("jfk clip not selected (--parity-clips)")
    return jfk[0]


def test_jfk_sentence(clips, voiceman, figures):
    c = _jfk(clips)
    ours = full_text(voiceman.transcribe(c, "default"))
    figures("jfk").update(text=ours.strip(), expected=JFK_TEXT)
    assert normalize_text(ours) == normalize_text(JFK_TEXT)


def test_json_shape(clips, oracle, voiceman):
    c = _jfk(clips)
    ours = voiceman.transcribe(c, "default")
    ref = oracle.transcript(c["path"], "default")
    assert ours["language"] == ref["language"]
    assert isinstance(ours["language_probability"], (int, float))
    assert abs(float(ours["duration"]) - ref["duration"]) < 0.05, \
        f"duration {ours['duration']} vs faster-whisper {ref['duration']}"
    assert ours["segments"], "no segments"
    last_end = 0.0
    for s in ours["segments"]:
        for k, t in (("id", int), ("seek", int), ("start", (int, float)), ("end", (int, float)),
                     ("text", str), ("tokens", list), ("avg_logprob", (int, float)),
                     ("compression_ratio", (int, float)), ("no_speech_prob", (int, float)),
                     ("temperature", (int, float))):
            assert isinstance(s.get(k), t), f"segment field {k!r} missing or not {t}: {s}"
        assert all(isinstance(t, int) for t in s["tokens"])
        assert s["start"] <= s["end"] <= ours["duration"] + 0.5
        assert s["start"] >= last_end - 1e-6, "segments go backwards"
        last_end = s["end"]
        assert "words" not in s or s["words"] == [], "words present without --word-timestamps"


def _text_and_wer(name, clips, oracle, voiceman, figures):
    fig = figures(name)
    same, diffs = 0, []
    for c in clips:
        ours = normalize_text(full_text(voiceman.transcribe(c, name)))
        ref = normalize_text(full_text(oracle.transcript(c["path"], name)))
        if ours == ref:
            same += 1
        else:
            diffs.append({"clip": c["id"], "ours": ours, "faster_whisper": ref})
    wc = _wer_clips(clips)
    refs = [normalize_text(c["reference_text"]) for c in wc]
    wer_ours = _wer(refs, [normalize_text(full_text(voiceman.transcribe(c, name))) for c in wc])
    wer_fw = _wer(refs, [normalize_text(full_text(oracle.transcript(c["path"], name)))
                         for c in wc])
    fw_wall = sum(oracle.transcript(c["path"], name)["_oracle"]["wall_s"] for c in clips)
    fig.update(clips=len(clips), same_text=same, same_text_fraction=same / len(clips),
               wer_clips=len(wc), wer_ours_pct=100 * wer_ours, wer_faster_whisper_pct=100 * wer_fw,
               wer_diff_points=100 * (wer_ours - wer_fw),
               ours_wall_s=voiceman.wall.get(name), faster_whisper_wall_s=fw_wall,
               differing=diffs[:8])
    return same, wer_ours, wer_fw, diffs


def test_greedy(clips, oracle, voiceman, figures):
    same, wer_ours, wer_fw, diffs = _text_and_wer("greedy", clips, oracle, voiceman, figures)
    frac = same / len(clips)
    assert frac >= SAME_TEXT_MIN, (
        f"greedy: same text on {same}/{len(clips)} clips ({100 * frac:.1f} %), need "
        f"{100 * SAME_TEXT_MIN:.0f} %; first differences: {diffs[:3]}")
    if len(_wer_clips(clips)):
        assert abs(wer_ours - wer_fw) * 100 <= WER_POINTS, \
            f"greedy WER {100 * wer_ours:.2f} % vs faster-whisper {100 * wer_fw:.2f} %"


def test_beam5(clips, oracle, voiceman, figures):
    if not _wer_clips(clips):
        pytest.skip("no English clip with a reference transcript selected")
    _, wer_ours, wer_fw, _ = _text_and_wer("beam5", clips, oracle, voiceman, figures)
    assert abs(wer_ours - wer_fw) * 100 <= WER_POINTS, \
        f"beam-5 WER {100 * wer_ours:.2f} % vs faster-whisper {100 * wer_fw:.2f} %"


def _words(result):
    """[(normalized word, start, end, probability)] over all segments; words that are only
    punctuation are dropped."""
    out = []
    for s in result["segments"]:
        for w in s.get("words") or []:
            n = normalize_text(w["word"])
            if n:
                out.append((n, float(w["start"]), float(w["end"]), float(w["probability"])))
    return out


def match_words(ours, ref):
    """Pairs (our word, reference word) of equal words, aligned by word sequence."""
    sm = difflib.SequenceMatcher(None, [w[0] for w in ours], [w[0] for w in ref], autojunk=False)
    pairs = []
    for a, b, n in sm.get_matching_blocks():
        pairs.extend(zip(ours[a:a + n], ref[b:b + n]))
    return pairs


def test_match_words_aligns_by_sequence():
    ours = [("a", 0, 1), ("x", 1, 2), ("b", 2, 3), ("c", 3, 4)]
    ref = [("a", 0, 1), ("b", 2.5, 3), ("c", 3, 4.5)]
    pairs = match_words(ours, ref)
    assert [(p[0][0], p[1][0]) for p in pairs] == [("a", "a"), ("b", "b"), ("c", "c")]
    assert match_words([], ref) == []


def test_word_timestamps(clips, oracle, voiceman, figures):
    fig = figures("words")
    d_start, d_end, d_prob = [], [], []
    n_ref = n_matched = 0
    missing = []
    for c in clips:
        ours_r = voiceman.transcribe(c, "words")
        ref_r = oracle.transcript(c["path"], "words")
        ours, ref = _words(ours_r), _words(ref_r)
        if ref and not ours:
            missing.append(c["id"])
        pairs = match_words(ours, ref)
        n_ref += len(ref)
        n_matched += len(pairs)
        for o, r in pairs:
            d_start.append(abs(o[1] - r[1]))
            d_end.append(abs(o[2] - r[2]))
            d_prob.append(abs(o[3] - r[3]))
    assert n_ref > 0, "faster-whisper produced no words: nothing to compare"
    fig.update(clips=len(clips), reference_words=n_ref, matched_words=n_matched,
               matched_fraction=n_matched / n_ref,
               median_start_diff_s=statistics.median(d_start) if d_start else None,
               median_end_diff_s=statistics.median(d_end) if d_end else None,
               p90_start_diff_s=float(np.percentile(d_start, 90)) if d_start else None,
               p90_end_diff_s=float(np.percentile(d_end, 90)) if d_end else None,
               median_probability_diff=statistics.median(d_prob) if d_prob else None,
               p90_probability_diff=float(np.percentile(d_prob, 90)) if d_prob else None,
               ours_wall_s=voiceman.wall.get("words"),
               faster_whisper_wall_s=sum(oracle.transcript(c["path"], "words")["_oracle"]["wall_s"]
                                         for c in clips),
               clips_without_words=missing)
    assert not missing, f"no word timestamps from voiceman on: {missing}"
    assert n_matched / n_ref >= WORD_MATCH_MIN, \
        f"only {n_matched}/{n_ref} words match faster-whisper's word sequence"
    ms, me = statistics.median(d_start), statistics.median(d_end)
    assert ms <= WORD_TIME_TOL and me <= WORD_TIME_TOL, \
        f"median |start diff| {ms:.3f} s, |end diff| {me:.3f} s (limit {WORD_TIME_TOL} s)"
    mp = statistics.median(d_prob)
    assert mp <= WORD_PROB_TOL, \
        f"median |word probability diff| {mp:.4f} (limit {WORD_PROB_TOL})"
