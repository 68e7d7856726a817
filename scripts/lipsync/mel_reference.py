"""Reference values for the Wav2Lip mel front-end (src/lipsync/neural/mel.rs), made by
Wav2Lip's own audio.py recipe with librosa, for tests/fixtures/wav2lip-mel.json.

The signal is defined analytically (so the Rust test can make the same sound at
48 kHz): 0.3 sin(2pi 440 t) + 0.2 sin(2pi 1500 t + 0.3) + 0.15 sin(2pi (200 t + 2400 t^2)),
one second, amplitude-modulated by 0.6 + 0.4 sin(2pi 3 t).

Usage: python3 scripts/lipsync/mel_reference.py   (needs numpy, scipy, librosa)
"""

import json
import os

import librosa
import numpy as np
from scipy import signal

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def sound(t):
    carrier = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 1500 * t + 0.3) + 0.15 * np.sin(2 * np.pi * (200 * t + 2400 * t * t))
    return carrier * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))


def melspectrogram(wav):
    # Wav2Lip audio.py with hparams: preemphasis 0.97, n_fft 800, hop 200, win 800,
    # 80 mels 55-7600 Hz, ref_level_db 20, min_level_db -100, symmetric, max_abs 4.
    wav = signal.lfilter([1, -0.97], [1], wav)
    d = librosa.stft(y=wav, n_fft=800, hop_length=200, win_length=800)
    basis = librosa.filters.mel(sr=16000, n_fft=800, n_mels=80, fmin=55, fmax=7600)
    s = 20 * np.log10(np.maximum(1e-5, np.dot(basis, np.abs(d)))) - 20
    return np.clip(8 * ((s + 100) / 100) - 4, -4, 4)


def main():
    t = np.arange(16000) / 16000.0
    mel = melspectrogram(sound(t).astype(np.float64))
    basis = librosa.filters.mel(sr=16000, n_fft=800, n_mels=80, fmin=55, fmax=7600)
    columns = list(range(10, 70, 3))
    out = {
        "librosa": librosa.__version__,
        "columns": columns,
        "mel": [[round(float(v), 5) for v in mel[:, c]] for c in columns],
        "filter_peaks": [int(np.argmax(basis[b])) for b in range(80)],
        "filter_peak_values": [round(float(basis[b].max()), 7) for b in range(80)],
    }
    path = os.path.join(ROOT, "tests/fixtures/wav2lip-mel.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(out, f)
    print(f"wrote {os.path.relpath(path, ROOT)}")


if __name__ == "__main__":
    main()
