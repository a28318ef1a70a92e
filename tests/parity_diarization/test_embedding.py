"""Speaker embedding parity: voiceman's GE2E encoder against resemblyzer's VoiceEncoder
(same pretrained.pt) on cuts of the dev clips. resemblyzer's preprocess_wav also trims
long silences with webrtcvad, which voiceman leaves out (diarization gives it speech
regions): the reference is embed_utterance(normalize_volume(wav)), the rest of
preprocess_wav exactly."""
from __future__ import annotations

import numpy as np

from conftest import record, run_dev

MIN_COSINE = 0.999


def test_resemblyzer_embeddings(diar_dev, models_dir, dev_clips, tmp_path):
    from resemblyzer import VoiceEncoder, audio
    from resemblyzer.hparams import audio_norm_target_dBFS

    encoder = VoiceEncoder("cpu", verbose=False, weights_fpath=models_dir / "resemblyzer.pt")
    cuts = []
    for name, wav in dev_clips.items():
        # Short (one zero-padded partial), medium and long cuts, and the whole clip.
        for start_s, dur_s in ((1.0, 0.7), (3.0, 2.5), (8.0, 7.0)):
            cut = wav[int(start_s * 16000) : int((start_s + dur_s) * 16000)]
            if len(cut) > 1600:
                cuts.append((f"{name}@{start_s}+{dur_s}", cut))
        cuts.append((name, wav))
    paths = []
    for i, (_, cut) in enumerate(cuts):
        paths.append(str(tmp_path / f"cut{i}.npy"))
        np.save(paths[-1], cut.astype(np.float32))
    seconds = run_dev(diar_dev, "embed", "--model", str(models_dir / "resemblyzer.pt"),
                      "--out", str(tmp_path / "emb.npy"), "--threads", "1", *paths)
    ours = np.load(tmp_path / "emb.npy")
    ref = np.stack([
        encoder.embed_utterance(audio.normalize_volume(cut, audio_norm_target_dBFS,
                                                       increase_only=True))
        for _, cut in cuts])
    assert ours.shape == ref.shape == (len(cuts), 256)
    cosine = (ours * ref).sum(axis=1) / (np.linalg.norm(ours, axis=1) * np.linalg.norm(ref, axis=1))
    worst = int(np.argmin(cosine))
    record("embedding resemblyzer: cuts", len(cuts))
    record("embedding resemblyzer: min cosine", f"{cosine.min():.7f} ({cuts[worst][0]})")
    record("embedding resemblyzer: max abs diff", f"{np.abs(ours - ref).max():.2e}")
    total_audio = sum(len(c) for _, c in cuts) / 16000
    record("embedding resemblyzer: speed, 1 thread", f"{total_audio / seconds:.0f} s of audio per s")
    assert cosine.min() >= MIN_COSINE
    # And the front-end alone: the mel power spectrogram, relative to its peak.
    np.save(tmp_path / "mel_in.npy", cuts[1][1].astype(np.float32))
    run_dev(diar_dev, "speaker-mel", "--audio", str(tmp_path / "mel_in.npy"),
            "--out", str(tmp_path / "mel.npy"))
    mel_ref = audio.wav_to_mel_spectrogram(cuts[1][1])
    mel = np.load(tmp_path / "mel.npy")
    rel = float(np.abs(mel - mel_ref).max() / np.abs(mel_ref).max())
    record("speaker mel: max abs diff / peak", f"{rel:.2e}")
    assert rel <= 1e-5


def test_wespeaker_resnet34_random_weights(diar_dev, dev_clips, tmp_path):
    """WeSpeaker ResNet34 as pyannote.audio builds it, with random weights and batch-norm
    statistics (the real checkpoints are gated); embeddings compared by cosine."""
    import torch
    from pyannote.audio.models.embedding import WeSpeakerResNet34

    torch.manual_seed(5)
    model = WeSpeakerResNet34()
    with torch.no_grad():
        for name, b in model.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(torch.randn_like(b) * 0.1)
            elif name.endswith("running_var"):
                b.copy_(torch.rand_like(b) + 0.5)
        for name, p in model.named_parameters():
            if ".bn" in name or "shortcut.1" in name:
                p.add_(torch.randn_like(p) * 0.1)
    model.eval()
    checkpoint = tmp_path / "wespeaker-resnet34.ckpt"
    torch.save({"state_dict": model.state_dict(), "hyper_parameters": dict(model.hparams)},
               checkpoint)
    wav = dev_clips["sample"]
    cuts = [wav[int(a * 16000) : int(b * 16000)] for a, b in ((10.6, 14.4), (14.8, 17.9), (1.0, 1.5))]
    cuts.append(dev_clips["ami_trn00"][: 16000 * 6] if "ami_trn00" in dev_clips else wav[:96000])
    paths = []
    for i, cut in enumerate(cuts):
        paths.append(str(tmp_path / f"ws{i}.npy"))
        np.save(paths[-1], cut.astype(np.float32))
    seconds = run_dev(diar_dev, "embed", "--model", str(checkpoint), "--out",
                      str(tmp_path / "ws.npy"), "--threads", "1", *paths)
    ours = np.load(tmp_path / "ws.npy")
    with torch.inference_mode():
        ref = np.stack([model(torch.from_numpy(c.astype(np.float32))[None, None]).numpy()[0]
                        for c in cuts])
    cosine = (ours * ref).sum(axis=1) / (np.linalg.norm(ours, axis=1) * np.linalg.norm(ref, axis=1))
    record("embedding wespeaker resnet34 (random weights): min cosine", f"{cosine.min():.7f}")
    total_audio = sum(len(c) for c in cuts) / 16000
    record("embedding wespeaker resnet34: speed, 1 thread", f"{total_audio / seconds:.1f} s of audio per s")
    assert cosine.min() >= MIN_COSINE
