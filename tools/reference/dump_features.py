#!/usr/bin/env python3
"""Dump faster-whisper's decoded waveform and log-mel features for one audio file.

Run with the reference venv (faster-whisper 1.2.1), e.g.
    /tmp/venv-ref/bin/python tools/reference/dump_features.py clip.flac --out-dir /tmp/ref

Writes <out-dir>/<stem>.wave.npy (float32, 16 kHz mono, faster_whisper.decode_audio) and
<out-dir>/<stem>.mel.npy (float32 [n_mels, frames], FeatureExtractor(n_mels)(wave,
padding=160)), the inputs the C++ decode and MelExtractor must reproduce.
"""
import argparse
import json
import pathlib
import sys

import numpy as np
from faster_whisper.audio import decode_audio
from faster_whisper.feature_extractor import FeatureExtractor


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("audio", type=pathlib.Path, help="media file to decode")
    parser.add_argument("--out-dir", type=pathlib.Path, default=pathlib.Path("."))
    parser.add_argument("--n-mels", type=int, default=80, choices=(80, 128))
    parser.add_argument("--padding", type=int, default=160)
    parser.add_argument("--stem", help="output name prefix (default: the audio file's stem)")
    args = parser.parse_args()

    wave = decode_audio(str(args.audio))
    mel = FeatureExtractor(feature_size=args.n_mels)(wave, padding=args.padding)

    args.out_dir.mkdir(parents=True, exist_ok=True)
    stem = args.stem or args.audio.stem
    wave_path = args.out_dir / f"{stem}.wave.npy"
    mel_path = args.out_dir / f"{stem}.mel.npy"
    np.save(wave_path, wave.astype(np.float32))
    np.save(mel_path, mel.astype(np.float32))
    json.dump(
        {
            "audio": str(args.audio),
            "samples": int(wave.shape[0]),
            "n_mels": int(mel.shape[0]),
            "frames": int(mel.shape[1]),
            "wave": str(wave_path),
            "mel": str(mel_path),
        },
        sys.stdout,
    )
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
