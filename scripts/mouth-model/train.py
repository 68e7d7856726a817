"""Trains the audio-to-mouth-shape model (assets/lipsync/mouth-from-audio.onnx).

The labels are exact: avatarcast's own voices speak a generated corpus through
`avatarcast say --lines`, which writes every utterance's mouth shapes (A-H, X) from
the voice's phoneme timings, the same shapes the renderer shows for synthesized
speech. The model learns to find those shapes in the sound alone, for audio that
comes without timings (recorded clips, HTTP voices).

Run through scripts/mouth-model/train.sh (it makes the venv and builds avatarcast).

The model, in one ONNX graph (input `audio`: [1, N] float, 48 kHz mono, -1..1;
output `mouth`: [1, 9, T] logits, one column per 10 ms):
  48 kHz -> low-pass + every 3rd sample (16 kHz) -> 20 ms windows every 10 ms -> power
  spectrum (a DFT as a convolution) -> 40 mel bands -> log -> minus the clip's mean
  (loudness and microphone colour drop out) -> / per-band scale -> conv over +-10
  frames (+-100 ms) -> ReLU -> 1x1 conv -> ReLU -> 1x1 conv -> 9 shape logits.
Frame t is centred on 48 kHz sample 480 t + 480.
The front end is written twice below, in numpy (training) and as ONNX nodes (export);
the evaluation runs the exported file through ONNX Runtime, so a mismatch would show.
"""

import argparse
import json
import os
import subprocess
import sys
import time
import wave

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import corpus  # noqa: E402

SHAPES = "ABCDEFGHX"
RATE = 48000
SUB = 16000
DECIMATE = 3
TAPS = 47
WIN = 320  # 20 ms at 16 kHz
HOP = 160  # 10 ms
BINS = WIN // 2 + 1
MELS = 40
CONTEXT = 10  # frames each side
H1, H2 = 256, 128
EPS = 1e-6

# Voices that speak the training data (config snippets for [voices.NAME]), and the one
# left out of training entirely.
TRAIN_VOICES = {
    "joe": "engine = \"piper\"\nmodel = \"models/voices/en_US-joe-medium.onnx\"\n",
    "joe_slow": "engine = \"piper\"\nmodel = \"models/voices/en_US-joe-medium.onnx\"\nlength_scale = 1.25\n",
    "joe_fast": "engine = \"piper\"\nmodel = \"models/voices/en_US-joe-medium.onnx\"\nlength_scale = 0.8\n",
    "es_us": "engine = \"espeak\"\nlanguage = \"en-us\"\n",
    "es_us_m3": "engine = \"espeak\"\nlanguage = \"en-us+m3\"\npitch = 35\n",
    "es_gb": "engine = \"espeak\"\nlanguage = \"en-gb-x-rp+m2\"\n",
    "es_us_f1": "engine = \"espeak\"\nlanguage = \"en-us+f1\"\npitch = 65\n",
}
LEFT_OUT_VOICE = ("es_us_f3", "engine = \"espeak\"\nlanguage = \"en-us+f3\"\npitch = 55\n")
# Share of the training sentences each voice speaks.
SHARE = {"joe": 0.45, "joe_slow": 0.25, "joe_fast": 0.25, "es_us": 0.2, "es_us_m3": 0.2, "es_gb": 0.2, "es_us_f1": 0.2}
# Training voices that also speak the held-out sentences.
HELD_OUT_VOICES = ["joe", "es_us_m3"]


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---------------------------------------------------------------- front end (numpy)

def lowpass_taps():
    """Windowed-sinc low-pass at 7.2 kHz for 48 -> 16 kHz."""
    n = np.arange(TAPS) - (TAPS - 1) / 2
    cutoff = 7200 / RATE
    h = 2 * cutoff * np.sinc(2 * cutoff * n) * np.hamming(TAPS)
    return (h / h.sum()).astype(np.float32)


def dft_basis():
    """[WIN, 2*BINS]: Hann-windowed cosines then sines."""
    t = np.arange(WIN)
    k = np.arange(BINS)
    window = np.hanning(WIN + 1)[:WIN]
    angle = 2 * np.pi * np.outer(t, k) / WIN
    return np.concatenate([window[:, None] * np.cos(angle), -window[:, None] * np.sin(angle)], axis=1).astype(np.float32)


def mel_matrix():
    """[BINS, MELS] triangular filters, 60 Hz to 7.6 kHz."""
    def hz_to_mel(f):
        return 2595 * np.log10(1 + f / 700)

    def mel_to_hz(m):
        return 700 * (10 ** (m / 2595) - 1)

    edges = mel_to_hz(np.linspace(hz_to_mel(60), hz_to_mel(7600), MELS + 2))
    freqs = np.arange(BINS) * SUB / WIN
    m = np.zeros((BINS, MELS), np.float32)
    for i in range(MELS):
        lo, mid, hi = edges[i], edges[i + 1], edges[i + 2]
        m[:, i] = np.clip(np.minimum((freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)), 0, None)
    return m


LOWPASS, DFT, MEL = lowpass_taps(), dft_basis(), mel_matrix()


def frame_count(n):
    sub = (n + 2 * (TAPS // 2) - TAPS) // DECIMATE + 1
    return max(0, (sub - WIN) // HOP + 1)


def features(audio):
    """48 kHz float audio -> [T, MELS] log-mel, clip mean removed (before the scale)."""
    padded = np.pad(audio.astype(np.float32), TAPS // 2)
    sub = np.lib.stride_tricks.sliding_window_view(padded, TAPS)[::DECIMATE] @ LOWPASS
    frames = np.lib.stride_tricks.sliding_window_view(sub, WIN)[::HOP]
    spec = frames @ DFT
    power = spec[:, :BINS] ** 2 + spec[:, BINS:] ** 2
    logmel = np.log(power @ MEL + EPS)
    return (logmel - logmel.mean(axis=0, keepdims=True)).astype(np.float32)


def labels(mouth_cues, frames, speed=1.0):
    """The shape at each frame's centre; `speed` > 1 when the audio was sped up."""
    centres = (np.arange(frames) * HOP * DECIMATE + HOP * DECIMATE) / RATE * speed
    starts = np.array([c["start"] for c in mouth_cues])
    idx = np.clip(np.searchsorted(starts, centres, side="right") - 1, 0, len(mouth_cues) - 1)
    shapes = np.array([SHAPES.index(c["shape"]) for c in mouth_cues])
    out = shapes[idx]
    out[centres >= mouth_cues[-1]["end"]] = SHAPES.index("X")
    return out.astype(np.int64)


# ---------------------------------------------------------------- data

def read_wav(path):
    with wave.open(path) as w:
        assert w.getframerate() == RATE and w.getnchannels() == 1
        return np.frombuffer(w.readframes(w.getnframes()), np.int16).astype(np.float32) / 32768


def synthesize(root, work, exe, sentences_by_voice, voices):
    """Each voice speaks its sentences via `avatarcast say --lines` (two at a time)."""
    config = os.path.join(work, "voices.toml")
    demo = open(os.path.join(root, "config/demo.toml")).read()
    # Memory-only speech cache: training data must not fill the user's cache/speech.
    demo = demo.replace("[voice]\n", "[voice]\ncache_dir = \"\"\n", 1)
    with open(config, "w") as f:
        f.write(demo)
        for name, snippet in voices.items():
            f.write(f"\n[voices.{name}]\n{snippet}")
    procs = []
    for (name, kind), lines in sentences_by_voice.items():
        out = os.path.join(work, "speech", f"{kind}-{name}")
        if os.path.isdir(out) and len([f for f in os.listdir(out) if f.endswith(".json")]) == len(lines):
            continue
        os.makedirs(out, exist_ok=True)
        lines_file = out + ".txt"
        with open(lines_file, "w") as f:
            f.write("\n".join(lines) + "\n")
        if len(procs) >= 2:
            check(procs.pop(0))
        log(f"{name} speaks {len(lines)} {kind} sentences")
        procs.append(subprocess.Popen([exe, "say", "--config", config, "--voice", name, "--lines", lines_file, "--output", out], cwd=root))
    for p in procs:
        check(p)


def check(proc):
    if proc.wait() != 0:
        sys.exit(f"failed: {' '.join(proc.args)}")


def load_set(work, name, kind):
    folder = os.path.join(work, "speech", f"{kind}-{name}")
    items = []
    for f in sorted(os.listdir(folder)):
        if f.endswith(".json"):
            doc = json.load(open(os.path.join(folder, f)))
            items.append((read_wav(os.path.join(folder, f[:-5] + ".wav")), doc["mouth"]))
    return items


def augment(audio, rng):
    """Another microphone, room, level and pace: speed/pitch by resampling, echo,
    a dull or tinny tone, noise at 10-45 dB SNR, level -30..0 dB. Returns (audio, speed)."""
    speed = rng.uniform(0.88, 1.12)
    n = int(len(audio) / speed)
    audio = np.interp(np.arange(n) * speed, np.arange(len(audio)), audio).astype(np.float32)
    if rng.random() < 0.4:
        delay = int(rng.uniform(0.01, 0.06) * RATE)
        echo = np.zeros_like(audio)
        echo[delay:] = audio[:-delay] * rng.uniform(0.2, 0.5)
        audio = audio + echo
    tone = rng.random()
    if tone < 0.25:  # dull: moving average
        k = int(rng.integers(3, 12))
        audio = np.convolve(audio, np.ones(k) / k, mode="same").astype(np.float32)
    elif tone < 0.45:  # tinny: first difference mixed in
        audio = (audio + rng.uniform(0.5, 2.0) * np.diff(audio, prepend=0)).astype(np.float32)
    peak = np.abs(audio).max() + 1e-9
    audio = audio / peak * 0.9
    snr = rng.uniform(10, 45)
    rms = np.sqrt(np.mean(audio**2)) + 1e-9
    noise = rng.standard_normal(len(audio)).astype(np.float32)
    if rng.random() < 0.5:  # brown-ish hum instead of hiss
        noise = np.cumsum(noise)
        noise -= np.convolve(noise, np.ones(400) / 400, mode="same")
        noise /= np.sqrt(np.mean(noise**2)) + 1e-9
    audio = audio + noise * rms / (10 ** (snr / 20))
    audio *= 10 ** (rng.uniform(-30, 0) / 20)
    return audio.astype(np.float32), speed


def build_frames(items, rng, copies):
    """Features of every utterance (plus `copies` augmented ones), concatenated with
    CONTEXT frames of padding between them, and the index of every labelled frame."""
    feats, labs, centre = [], [], []
    offset = 0
    for audio, cues in items:
        versions = [(audio, 1.0)] + [augment(audio, rng) for _ in range(copies)]
        for a, speed in versions:
            f = features(a)
            y = labels(cues, len(f), speed)
            feats.append(np.zeros((CONTEXT, MELS), np.float32))
            feats.append(f)
            centre.append(offset + CONTEXT + np.arange(len(f)))
            labs.append(y)
            offset += CONTEXT + len(f)
    feats.append(np.zeros((CONTEXT, MELS), np.float32))
    return np.concatenate(feats), np.concatenate(labs), np.concatenate(centre)


# ---------------------------------------------------------------- model (numpy)

def windows(feats, idx, scale):
    offsets = np.arange(-CONTEXT, CONTEXT + 1)
    return (feats[idx[:, None] + offsets[None, :]] / scale).reshape(len(idx), -1)


def train(feats, labs, centre, scale, epochs, rng):
    d = (2 * CONTEXT + 1) * MELS
    params = {
        "w1": rng.standard_normal((d, H1)).astype(np.float32) * np.sqrt(2 / d),
        "b1": np.zeros(H1, np.float32),
        "w2": rng.standard_normal((H1, H2)).astype(np.float32) * np.sqrt(2 / H1),
        "b2": np.zeros(H2, np.float32),
        "w3": rng.standard_normal((H2, len(SHAPES))).astype(np.float32) * np.sqrt(2 / H2),
        "b3": np.zeros(len(SHAPES), np.float32),
    }
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v = {k: np.zeros_like(v) for k, v in params.items()}
    step, batch = 0, 512
    for epoch in range(epochs):
        lr = 1e-3 * (0.5 ** (epoch / 4))
        order = rng.permutation(len(centre))
        loss_sum, correct = 0.0, 0
        for b in range(0, len(order) - batch + 1, batch):
            sel = order[b : b + batch]
            x, y = windows(feats, centre[sel], scale), labs[sel]
            # Input dropout-like noise keeps it from trusting one band.
            x = x + rng.standard_normal(x.shape).astype(np.float32) * 0.1
            h1 = np.maximum(x @ params["w1"] + params["b1"], 0)
            h2 = np.maximum(h1 @ params["w2"] + params["b2"], 0)
            z = h2 @ params["w3"] + params["b3"]
            z -= z.max(axis=1, keepdims=True)
            p = np.exp(z)
            p /= p.sum(axis=1, keepdims=True)
            loss_sum += -np.log(p[np.arange(batch), y] + 1e-9).sum()
            correct += (p.argmax(axis=1) == y).sum()
            g = p
            g[np.arange(batch), y] -= 1
            g /= batch
            grads = {"w3": h2.T @ g, "b3": g.sum(0)}
            g2 = (g @ params["w3"].T) * (h2 > 0)
            grads.update({"w2": h1.T @ g2, "b2": g2.sum(0)})
            g1 = (g2 @ params["w2"].T) * (h1 > 0)
            grads.update({"w1": x.T @ g1, "b1": g1.sum(0)})
            step += 1
            for k in params:  # Adam, light weight decay
                gk = grads[k] + (1e-5 * params[k] if k.startswith("w") else 0)
                m[k] = 0.9 * m[k] + 0.1 * gk
                v[k] = 0.999 * v[k] + 0.001 * gk * gk
                mh, vh = m[k] / (1 - 0.9**step), v[k] / (1 - 0.999**step)
                params[k] -= (lr * mh / (np.sqrt(vh) + 1e-8)).astype(np.float32)
        n = len(order) // batch * batch
        log(f"epoch {epoch + 1}/{epochs}: loss {loss_sum / n:.3f}, frame accuracy {correct / n:.3f} (training)")
    return params


# ---------------------------------------------------------------- export

def export(params, scale, path):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    def const(name, array):
        return numpy_helper.from_array(np.ascontiguousarray(array, dtype=np.float32 if array.dtype != np.int64 else np.int64), name)

    k = 2 * CONTEXT + 1
    inits = [
        const("lowpass", LOWPASS[None, None, :]),
        const("dft", DFT.T[:, None, :]),  # [2*BINS, 1, WIN]
        const("mel", MEL),
        const("eps", np.array(EPS, np.float32)),
        const("scale", (1 / scale)[None, :, None].astype(np.float32)),  # [1, MELS, 1]
        # w1 rows are (k, mel) k-major -> conv weight [H1, MELS, k]
        const("w1", params["w1"].reshape(k, MELS, H1).transpose(2, 1, 0)),
        const("b1", params["b1"]),
        const("w2", params["w2"].T[:, :, None]),
        const("b2", params["b2"]),
        const("w3", params["w3"].T[:, :, None]),
        const("b3", params["b3"]),
        const("shape_b1n", np.array([1, 1, -1], np.int64)),
        const("split", np.array([BINS, BINS], np.int64)),
        const("mean_axes", np.array([2], np.int64)),
    ]
    nodes = [
        helper.make_node("Reshape", ["audio", "shape_b1n"], ["x"]),
        helper.make_node("Conv", ["x", "lowpass"], ["sub"], strides=[DECIMATE], pads=[TAPS // 2, TAPS // 2]),
        helper.make_node("Conv", ["sub", "dft"], ["spec"], strides=[HOP]),
        helper.make_node("Split", ["spec", "split"], ["re", "im"], axis=1),
        helper.make_node("Mul", ["re", "re"], ["re2"]),
        helper.make_node("Mul", ["im", "im"], ["im2"]),
        helper.make_node("Add", ["re2", "im2"], ["power"]),  # [1, BINS, T]
        helper.make_node("Transpose", ["power"], ["power_t"], perm=[0, 2, 1]),
        helper.make_node("MatMul", ["power_t", "mel"], ["mel_t"]),  # [1, T, MELS]
        helper.make_node("Transpose", ["mel_t"], ["melspec"], perm=[0, 2, 1]),
        helper.make_node("Add", ["melspec", "eps"], ["mel_eps"]),
        helper.make_node("Log", ["mel_eps"], ["logmel"]),
        helper.make_node("ReduceMean", ["logmel", "mean_axes"], ["clip_mean"], keepdims=1),
        helper.make_node("Sub", ["logmel", "clip_mean"], ["centred"]),
        helper.make_node("Mul", ["centred", "scale"], ["normed"]),
        helper.make_node("Conv", ["normed", "w1", "b1"], ["c1"], pads=[CONTEXT, CONTEXT]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"]),
        helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("Conv", ["r2", "w3", "b3"], ["mouth"]),
    ]
    graph = helper.make_graph(
        nodes,
        "mouth_from_audio",
        [helper.make_tensor_value_info("audio", TensorProto.FLOAT, [1, "samples"])],
        [helper.make_tensor_value_info("mouth", TensorProto.FLOAT, [1, len(SHAPES), "frames"])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], producer_name="avatarcast-train-mouth-model")
    model.ir_version = 8
    model.doc_string = f"Mouth shapes {SHAPES} from 48 kHz mono audio, one column of logits per 10 ms; frame t centred on sample 480 t + 480."
    onnx.checker.check_model(model)
    onnx.save(model, path)


# ---------------------------------------------------------------- evaluation

def evaluate(session, items):
    """Frame accuracy of the exported model: per 10 ms frame, and per 40 ms video frame
    (25 fps, the shape at the frame's middle, as the renderer picks it)."""
    hit = total = vhit = vtotal = open_hit = 0
    for audio, cues in items:
        logits = session.run(["mouth"], {"audio": audio[None, :]})[0][0]
        pred = logits.argmax(axis=0)
        y = labels(cues, len(pred))
        hit += int((pred == y).sum())
        total += len(y)
        is_open = np.array([s not in "AX" for s in SHAPES])
        open_hit += int((is_open[pred] == is_open[y]).sum())
        # Video frame f shows [40 f, 40 f + 40) ms; its middle, 40 f + 20 ms, is the centre
        # of 10 ms frame t = 4 f + 1 (frame t is centred on 10 (t + 1) ms).
        vf = np.arange(len(pred) // 4)
        t = np.clip(4 * vf + 1, 0, len(pred) - 1)
        vhit += int((pred[t] == y[t]).sum())
        vtotal += len(t)
    return {"frame_accuracy": hit / total, "video_frame_accuracy": vhit / vtotal, "open_closed_accuracy": open_hit / total, "frames": total}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default=os.path.abspath(os.path.join(os.path.dirname(__file__), "../..")))
    ap.add_argument("--work", default="target/mouth-model")
    ap.add_argument("--out", default="assets/lipsync/mouth-from-audio.onnx")
    ap.add_argument("--sentences", type=int, default=1000)
    ap.add_argument("--held-out", type=int, default=150)
    ap.add_argument("--copies", type=int, default=2, help="augmented copies of each training utterance")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--evaluate-only", action="store_true", help="measure the model at --out again, no training")
    args = ap.parse_args()
    root = args.root
    work = os.path.join(root, args.work)
    os.makedirs(os.path.join(work, "speech"), exist_ok=True)
    exe = os.path.join(root, "target/release/avatarcast")
    rng = np.random.default_rng(args.seed)

    pool = corpus.sentences(args.sentences + args.held_out, args.seed)
    train_sentences, held_out = pool[: args.sentences], pool[args.sentences :]
    by_voice = {}
    for name, share in SHARE.items():
        pick = rng.choice(len(train_sentences), int(share * len(train_sentences)), replace=False)
        by_voice[(name, "train")] = [train_sentences[i] for i in sorted(pick)]
    for name in HELD_OUT_VOICES + [LEFT_OUT_VOICE[0]]:
        by_voice[(name, "heldout")] = held_out
        by_voice[(name, "novel")] = corpus.NOVEL
    synthesize(root, work, exe, by_voice, {**TRAIN_VOICES, LEFT_OUT_VOICE[0]: LEFT_OUT_VOICE[1]})
    out = os.path.join(root, args.out)
    report_path = out[: -len(".onnx")] + ".json"

    if args.evaluate_only:
        report = json.load(open(report_path))
    else:
        log("features (with augmented copies)")
        items = [it for name in TRAIN_VOICES for it in load_set(work, name, "train")]
        feats, labs, centre = build_frames(items, rng, args.copies)
        scale = feats[centre].std(axis=0) + 1e-3
        seconds = len(centre) / 100
        log(f"{len(items)} utterances, {seconds / 60:.0f} min of audio with augmentation, {len(centre)} frames")
        counts = np.bincount(labs, minlength=len(SHAPES))
        log("shapes: " + ", ".join(f"{s} {c / len(labs):.2f}" for s, c in zip(SHAPES, counts)))

        params = train(feats, labs, centre, scale, args.epochs, rng)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        export(params, scale, out)
        log(f"wrote {out} ({os.path.getsize(out) / 1e6:.2f} MB)")
        report = {"model": args.out, "shapes": SHAPES, "seed": args.seed, "epochs": args.epochs, "training_minutes": round(seconds / 60, 1),
                  "training_voices": list(TRAIN_VOICES), "left_out_voice": LEFT_OUT_VOICE[0] + " (espeak-ng en-us+f3)"}

    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    session = ort.InferenceSession(out, opts, providers=["CPUExecutionProvider"])
    # Held out: template sentences never trained on (they share its templates and
    # words), and NOVEL, written apart (text unlike the training's).
    report["accuracy"] = {
        f"{kind}: {name}": evaluate(session, load_set(work, name, kind))
        for kind in ["heldout", "novel"]
        for name in HELD_OUT_VOICES + [LEFT_OUT_VOICE[0]]
    }
    report["held_out_sentences"] = len(held_out)
    report["novel_sentences"] = len(corpus.NOVEL)
    report.pop("real_time_factor_one_core", None)  # the name before 2026-11-21
    # Speed: one core, a 10 s clip.
    clip = np.zeros(RATE * 10, np.float32) + rng.standard_normal(RATE * 10).astype(np.float32) * 0.01
    session.run(["mouth"], {"audio": clip[None, :]})
    started = time.perf_counter()
    for _ in range(5):
        session.run(["mouth"], {"audio": clip[None, :]})
    report["x_real_time_one_thread"] = round(50 / (time.perf_counter() - started), 1)
    with open(report_path, "w") as f:
        json.dump(report, f, indent=2)
    log(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
