"""Regenerates tests/decoding/data/ct2_oracle.json: CTranslate2's own Whisper generate() on a
tiny random model, plus the decoder logits of every history our search() visits.

    python tests/decoding/ct2_oracle.py --test-binary build/tests/test_decoding

Needs the reference venv (ctranslate2 4.x, numpy). It builds the model in a temporary folder,
records generate() results per case, then loops: the test binary replays the table and lists
the histories it misses (VOICEMAN_CT2_ORACLE_MISSING), and this script asks CTranslate2 for
their logits, until nothing is missing.

Logits of a history h are read with return_logits_vocab while h is forced as a prefix: at the
forced steps only <|notimestamps|> is disabled (when timestamp rules are on), which search()
disables too. sot_index is not replayed: no_speech_prob is not compared here.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import ctranslate2
import numpy as np
from ctranslate2.specs import whisper_spec

TEXT = [chr(ord("a") + i) for i in range(8)]
SPECIALS = ["<|endoftext|>", "<|startoftranscript|>", "<|en|>", "<|translate|>", "<|transcribe|>",
            "<|startoflm|>", "<|startofprev|>", "<|nospeech|>", "<|notimestamps|>"]
TOKENS = TEXT + SPECIALS + ["<|%.2f|>" % (i * 0.02) for i in range(11)]
EOT, SOT, EN, TRANSLATE, TRANSCRIBE, SOT_LM, SOT_PREV, NO_SPEECH, NO_TS = range(8, 17)
TS = 17
SUPPRESS_IDS_BEGIN = [0, EOT]


def build_model(path, seed=0, d=16, heads=2, ffn=32, n_mels=80):
    rng = np.random.default_rng(seed)

    def f(*shape, s=0.5):
        return (rng.standard_normal(shape) * s).astype(np.float32)

    def ln(x):
        x.gamma = np.ones(d, np.float32) + f(d, s=0.1)
        x.beta = f(d, s=0.1)

    def lin(x, o, i, s=None):
        x.weight = f(o, i, s=s or 1.0 / np.sqrt(i))
        x.bias = f(o, s=0.1)

    spec = whisper_spec.WhisperSpec(1, heads, 1, heads)
    e, dec = spec.encoder, spec.decoder
    e.conv1.weight, e.conv1.bias = f(d, n_mels, 3, s=0.1), f(d)
    e.conv2.weight, e.conv2.bias = f(d, d, 3, s=0.2), f(d)
    e.position_encodings.encodings = f(1500, d)
    ln(e.layer_norm)
    layer = e.layer[0]
    ln(layer.self_attention.layer_norm)
    lin(layer.self_attention.linear[0], 3 * d, d)
    lin(layer.self_attention.linear[1], d, d)
    ln(layer.ffn.layer_norm)
    lin(layer.ffn.linear_0, ffn, d)
    lin(layer.ffn.linear_1, d, ffn)
    dec.embeddings.weight = f(len(TOKENS), d, s=1.0)
    dec.position_encodings.encodings = f(448, d, s=1.0)
    ln(dec.layer_norm)
    layer = dec.layer[0]
    ln(layer.self_attention.layer_norm)
    lin(layer.self_attention.linear[0], 3 * d, d)
    lin(layer.self_attention.linear[1], d, d)
    ln(layer.attention.layer_norm)
    lin(layer.attention.linear[0], d, d)
    lin(layer.attention.linear[1], 2 * d, d)
    lin(layer.attention.linear[2], d, d, s=3.0 / np.sqrt(d))  # let the audio matter
    ln(layer.ffn.layer_norm)
    lin(layer.ffn.linear_0, ffn, d)
    lin(layer.ffn.linear_1, d, ffn)
    proj = f(len(TOKENS), d, s=0.5)
    proj[EOT] = proj[0] * 0.6 + f(d, s=0.3)  # <|endoftext|> competes with "a": varied lengths
    dec.projection.weight = proj
    spec.config.suppress_ids = [1, 2]
    spec.config.suppress_ids_begin = SUPPRESS_IDS_BEGIN
    spec.config.lang_ids = [EN]
    spec.config.alignment_heads = [(0, 0), (0, 1)]
    spec.register_vocabulary(TOKENS)
    spec.validate()
    spec.save(path)


def task_prompt_length(seq):
    i = seq.index(SOT)
    while i < len(seq) and SOT <= seq[i] <= NO_TS:
        i += 1
    return i


def option_set(**kw):
    o = dict(beam_size=5, patience=1.0, length_penalty=1.0, repetition_penalty=1.0,
             no_repeat_ngram_size=0, max_length=40, suppress_blank=False, suppress_tokens=[],
             max_initial_timestamp_index=50)
    o.update(kw)
    return o


NO_TS_PROMPT = [SOT, EN, TRANSCRIBE, NO_TS]
TS_PROMPT = [SOT, EN, TRANSCRIBE]
CASES = [
    ("greedy", NO_TS_PROMPT, option_set(beam_size=1)),
    ("beam5", NO_TS_PROMPT, option_set()),
    ("beam5_patience2", NO_TS_PROMPT, option_set(patience=2.0)),
    ("beam3_no_length_penalty", NO_TS_PROMPT, option_set(beam_size=3, length_penalty=0.0)),
    ("beam4_length_penalty_0.6", NO_TS_PROMPT, option_set(beam_size=4, length_penalty=0.6)),
    ("beam5_repetition_ngram", NO_TS_PROMPT,
     option_set(repetition_penalty=1.3, no_repeat_ngram_size=2)),
    ("greedy_repetition", NO_TS_PROMPT, option_set(beam_size=1, repetition_penalty=1.5)),
    ("greedy_ngram", NO_TS_PROMPT, option_set(beam_size=1, no_repeat_ngram_size=3)),
    ("beam3_timestamps_repetition", TS_PROMPT,
     option_set(beam_size=3, repetition_penalty=1.4, suppress_blank=True)),
    ("beam5_suppress", NO_TS_PROMPT,
     option_set(suppress_blank=True, suppress_tokens=[1, 2, 5, 11, 12, 13, 14, 15])),
    ("beam5_max_length", NO_TS_PROMPT, option_set(max_length=12)),
    ("greedy_max_length", NO_TS_PROMPT, option_set(beam_size=1, max_length=12)),
    ("greedy_timestamps", TS_PROMPT,
     option_set(beam_size=1, suppress_blank=True, max_initial_timestamp_index=3)),
    ("beam5_timestamps", TS_PROMPT,
     option_set(suppress_blank=True, max_initial_timestamp_index=3, suppress_tokens=[1, 2])),
    ("beam2_timestamps_long", TS_PROMPT, option_set(beam_size=2, repetition_penalty=1.2)),
    ("greedy_prefix", TS_PROMPT + [TS, 3, 4], option_set(beam_size=1, suppress_blank=True)),
    ("beam5_prefix", TS_PROMPT + [TS, 3, 4], option_set(suppress_blank=True)),
    ("beam2_prefix_no_timestamps", NO_TS_PROMPT + [3], option_set(beam_size=2)),
    ("beam5_previous_text", [SOT_PREV, 0, 1, SOT, EN, TRANSCRIBE], option_set()),
    ("greedy_english_only", [SOT], option_set(beam_size=1)),
    ("beam5_english_only", [SOT], option_set()),
]
SOURCES = [0, 1, 2]


class Oracle:
    def __init__(self, model_dir):
        self.model = ctranslate2.models.Whisper(model_dir, device="cpu")
        self.encoded = []
        for s in SOURCES:
            feats = (np.random.default_rng(100 + s).standard_normal((1, 80, 3000)) * 3)
            self.encoded.append(self.model.encode(
                ctranslate2.StorageView.from_array(feats.astype(np.float32))))
        self.table = {}

    def generate(self, source, prompt, **kw):
        return self.model.generate(self.encoded[source], [prompt], return_scores=True, **kw)[0]

    def record(self, source, seq):
        """Logits after seq (task prompt + history), and after each shorter history."""
        p = task_prompt_length(seq)
        history = seq[p:]
        prompt = seq if history else seq + [0]  # an empty history is read as step 0 of [0]
        steps = max(len(history), 1) + 1
        total = 2 * (steps + p)
        r = self.generate(source, prompt, beam_size=1, max_length=total, suppress_blank=False,
                          suppress_tokens=[], return_logits_vocab=True)
        for k, logits in enumerate(r.logits[0]):
            if k > len(history):
                break
            key = (source, tuple(seq[:p] + history[:k]))
            row = np.asarray(logits, dtype=np.float32)
            self.table[key] = [float(f"{x:.9g}") for x in row]


def reference(oracle, name, prompt, options):
    expected = []
    for s in SOURCES:
        r = oracle.generate(s, prompt, **options)
        expected.append(dict(tokens=r.sequences_ids[0], score=float(r.scores[0])))
    return dict(name=name, options=options, expected=expected,
                requests=[dict(prompt=prompt, source=s) for s in SOURCES])


def fixture(oracle, cases):
    return dict(
        generated_by="tests/decoding/ct2_oracle.py with ctranslate2 " + ctranslate2.__version__,
        vocab_size=len(TOKENS), tokens=TOKENS,
        specials=dict(eot=EOT, sot=SOT, lang_ids=[EN], translate=TRANSLATE,
                      transcribe=TRANSCRIBE, sot_lm=SOT_LM, sot_prev=SOT_PREV,
                      no_speech=NO_SPEECH, no_timestamps=NO_TS, timestamp_begin=TS,
                      suppress_ids_begin=SUPPRESS_IDS_BEGIN),
        cases=cases,
        table=[dict(source=k[0], sequence=list(k[1]), logits=v)
               for k, v in sorted(oracle.table.items())])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--test-binary", required=True)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "data",
                                                      "ct2_oracle.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = os.path.join(tmp, "model")
        os.makedirs(model_dir)
        build_model(model_dir)
        oracle = Oracle(model_dir)
        cases = [reference(oracle, *c) for c in CASES]
        fixture_path = os.path.join(tmp, "fixture.json")
        missing_path = os.path.join(tmp, "missing.txt")
        for rounds in range(1, 500):
            with open(fixture_path, "w") as out:
                json.dump(fixture(oracle, cases), out)
            env = dict(os.environ, VOICEMAN_CT2_ORACLE=fixture_path,
                       VOICEMAN_CT2_ORACLE_MISSING=missing_path)
            subprocess.run([args.test_binary, "--gtest_filter=Ct2Oracle.*"], env=env,
                           check=False, stdout=subprocess.DEVNULL)
            with open(missing_path) as f:
                missing = [line.strip() for line in f if line.strip()]
            if not missing:
                break
            for key in missing:
                source, seq = key.split(":")
                oracle.record(int(source), [int(t) for t in seq.split(",") if t])
        print(f"{rounds} rounds, {len(oracle.table)} histories, {len(cases)} cases",
              file=sys.stderr)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as out:
        json.dump(fixture(oracle, cases), out, separators=(",", ":"))
        out.write("\n")


if __name__ == "__main__":
    main()
