"""Expected values for the decoding tests, computed with faster-whisper 1.2.1's own functions.

Run with the reference venv (faster-whisper installed):  python tests/decoding/faster_whisper_oracle.py
The CTranslate2 align() steps (normalize over tokens, median filter, mean of heads, negative
DTW) are not reachable from Python without a model, so `ct2_align_path` restates them in numpy.
"""
import types
import zlib

import numpy as np
from faster_whisper.transcribe import WhisperModel, merge_punctuations

EOT, TS = 50257, 50364
PREPEND = "\"'“¿([{-"
APPEND = "\"'.。,，!！?？:：”)]}、"


def compression():
    for text in ["hello world", "the " * 11 + "the", "", "Ça va? 日本語のテキスト。",
                 " And so my fellow Americans, ask not what your country can do for you,"
                 " ask what you can do for your country."]:
        b = text.encode("utf-8")
        print(repr(text), len(b), len(zlib.compress(b)), repr(len(b) / len(zlib.compress(b))))


def split(tokens, seek=1234, segment_size=3000):
    fake = types.SimpleNamespace(time_precision=0.02, input_stride=2)
    tok = types.SimpleNamespace(timestamp_begin=TS)
    segs, new_seek, single = WhisperModel._split_segments_by_timestamps(
        fake, tok, tokens, seek * 0.01, segment_size, segment_size * 0.01, seek)
    print(tokens)
    for s in segs:
        print("  ", repr(s["start"]), repr(s["end"]), s["tokens"])
    print("   seek", new_seek, "single", single)


def dtw(x):
    n, m = x.shape
    cost = np.ones((n + 1, m + 1), dtype=np.float32) * np.inf
    trace = -np.ones((n + 1, m + 1), dtype=np.float32)
    cost[0, 0] = 0
    for j in range(1, m + 1):
        for i in range(1, n + 1):
            c0, c1, c2 = cost[i - 1, j - 1], cost[i - 1, j], cost[i, j - 1]
            if c0 < c1 and c0 < c2:
                c, t = c0, 0
            elif c1 < c0 and c1 < c2:
                c, t = c1, 1
            else:
                c, t = c2, 2
            cost[i, j] = x[i - 1, j - 1] + c
            trace[i, j] = t
    i, j = trace.shape[0] - 1, trace.shape[1] - 1
    trace[0, :] = 2
    trace[:, 0] = 1
    result = []
    while i > 0 or j > 0:
        result.append((i - 1, j - 1))
        t = trace[i, j]
        if t == 0:
            i, j = i - 1, j - 1
        elif t == 1:
            i -= 1
        else:
            j -= 1
    return np.array(result[::-1]).T


def ct2_align_path(w, sot_len, text_len, width=7):
    w = w.astype(np.float32)
    mean = w.mean(axis=1, keepdims=True)
    var = np.maximum((w * w).mean(axis=1, keepdims=True) - mean * mean, 0)
    x = (w - mean) / np.sqrt(var)
    pad = width // 2
    if x.shape[-1] > pad:
        xp = np.pad(x, [(0, 0), (0, 0), (pad, pad)], mode="reflect")
        x = np.median(np.lib.stride_tricks.sliding_window_view(xp, width, axis=-1), axis=-1)
    m = x.mean(axis=0)[sot_len:sot_len + text_len + 1]
    return dtw(-m)


def hand_attention():
    # 2 heads; sequence: 3 sot tokens, notimestamps, 5 text tokens, eot; 24 frames.
    heads, sot_len, text_len, frames = 2, 3, 5, 24
    tokens = sot_len + 1 + text_len + 1
    w = np.full((heads, tokens, frames), 0.1, dtype=np.float32)
    starts = [0, 3, 8, 10, 15, 21, 24]  # row r looks at frames starts[r] .. starts[r+1]-1
    for r in range(text_len + 1):
        for h in range(heads):
            w[h, sot_len + r, starts[r]:starts[r + 1]] += 1.0 + 0.25 * h + 0.1 * (r % 2)
    w[0, sot_len + 2, 9] += 0.5  # an off-centre spike for the median filter to remove
    w /= w.sum(axis=-1, keepdims=True)
    return w, sot_len, text_len


def alignment_end_to_end():
    w, sot_len, text_len = hand_attention()
    path = ct2_align_path(w, sot_len, text_len)
    print("path text", path[0].tolist())
    print("path time", path[1].tolist())
    probs = [0.9, 0.8, 0.7, 0.6, 0.5]
    words = [" Hello", " wor" + "ld", ".", " Bye", "<|endoftext|>"]
    word_tokens = [[1000], [1001, 1002], [13], [1003], [EOT]]
    result = types.SimpleNamespace(alignments=list(zip(path[0], path[1])),
                                   text_token_probs=probs)
    fake = types.SimpleNamespace(
        model=types.SimpleNamespace(align=lambda *a, **k: [result]), tokens_per_second=50)
    tok = types.SimpleNamespace(sot_sequence=[50258, 50259, 50359], eot=EOT,
                                split_to_word_tokens=lambda t: (words, word_tokens))
    alignment = WhisperModel.find_alignment(fake, tok, [[1000, 1001, 1002, 13, 1003]], None, 48)[0]
    for a in alignment:
        print("  ", repr(a["word"]), a["tokens"], repr(float(a["start"])), repr(float(a["end"])),
              repr(float(a["probability"])))
    return alignment


def add_words(alignment, segments, seek, last_speech):
    fake = types.SimpleNamespace(find_alignment=lambda *a, **k: [alignment], frames_per_second=100)
    tok = types.SimpleNamespace(eot=EOT)
    for s in segments:
        s["seek"] = seek
    last = WhisperModel.add_word_timestamps(fake, [segments], tok, None, 3000, PREPEND, APPEND,
                                            last_speech)
    for s in segments:
        print("  segment", repr(s["start"]), repr(s["end"]))
        for w in s["words"]:
            print("    ", repr(w["word"]), repr(w["start"]), repr(w["end"]), w["probability"])
    print("  last_speech", repr(last))


def word_rules():
    rows = [  # word, tokens, start, end (relative to the window)
        (" Hello", [100], 0.0, 2.5), (" world", [101, 102], 2.5, 2.9), (".", [103], 2.9, 3.0),
        (" Next", [104], 3.0, 5.0), (" (", [105], 5.0, 5.0), ("one", [106], 5.0, 5.3),
        (")", [107], 5.3, 5.4), (" two", [108], 5.4, 5.8), ("!", [109], 5.8, 7.0),
        (" Long", [110], 7.0, 9.5), (" end", [111], 9.5, 11.0),
        (" Start", [112], 11.0, 12.5), (" stop", [113], 12.5, 14.0)]
    alignment = [dict(word=w, tokens=t, start=s, end=e, probability=0.5 + 0.01 * i)
                 for i, (w, t, s, e) in enumerate(rows)]
    segments = [
        dict(start=10.0, end=13.0, tokens=[TS, 100, 101, 102, 103, TS + 150]),
        dict(start=13.0, end=16.5, tokens=[TS + 150, 104, 105, 106, 107, 108, 109, TS + 325]),
        dict(start=17.8, end=18.5, tokens=[TS + 390, 110, 111, TS + 425]),
        dict(start=22.0, end=22.6, tokens=[TS + 600, 112, 113, TS + 630]),
    ]
    add_words(alignment, segments, 1000, 2.0)


def merge():
    rows = [" \"", "Hi", ",", " (", " '", "there", ")", ".", " ok", " ", "-", "yes", "?"]
    alignment = [dict(word=w, tokens=[i]) for i, w in enumerate(rows)]
    merge_punctuations(alignment, PREPEND, APPEND)
    print([(a["word"], a["tokens"]) for a in alignment])


def random_attention():
    rng = np.random.default_rng(7)
    heads, tokens, frames, sot_len, text_len = 2, 8, 16, 2, 4
    logits = rng.normal(size=(heads, tokens, frames)) * 1.5
    for t in range(tokens):
        logits[:, t, min(frames - 1, 2 * t)] += 2.0
    w = np.exp(logits)
    w = (w / w.sum(-1, keepdims=True)).astype(np.float32)
    print("weights", ", ".join(f"{v:.9g}f" for v in w.ravel()))
    path = ct2_align_path(w, sot_len, text_len)
    print("path text", path[0].tolist())
    print("path time", path[1].tolist())
    # Without the per-frame standardization the path differs (the test depends on it).
    m = w.mean(axis=0)[sot_len:sot_len + text_len + 1]
    print("unnormalized path text", dtw(-m)[0].tolist())


if __name__ == "__main__":
    compression()
    split([TS, 1, 2, TS + 100, TS + 100, 3, 4, TS + 200])
    split([TS, 1, 2, TS + 100, TS + 100, 3, 4, TS + 200, TS + 200, 5])
    split([TS, 1, 2, TS + 50])
    split([1, 2, 3])
    split([TS, 1, 2])
    split([])
    merge()
    word_rules()
    alignment = alignment_end_to_end()
    add_words(alignment, [dict(start=12.34, end=12.8, tokens=[TS, 1000, 1001, 1002, 13, TS + 20]),
                          dict(start=12.8, end=13.0, tokens=[TS + 20, 1003, TS + 30])], 1234, 11.0)
    random_attention()
