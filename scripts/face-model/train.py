"""Trains a presenter's face model from their own footage: the mouth region of the
face crop drawn from what is being said, with no pretrained weights of anyone's.

Run by `avatarcast avatar train`, which does the data work first (decode, face crops,
the phonetic features of every frame from the footage's sound) and writes it to
DATA/: frames.npy uint8 [N, S, S, 3] (the padded face box, BGR), phonetic.npy float32
[N, STEPS, 9] (mouth-shape one-hots, 10 ms steps around each frame, speaker
independent), split.npy uint8 [N] (0 train, 1 held out, 2 unused). This script
prints one JSON object per line on stdout (progress, held-out figures) for avatarcast
to show, keeps a checkpoint in DATA/ to resume from, and writes the ONNX model:

  inputs  face     float32 [B, 6, S, S]  BGR 0..1: rows S/2.. zeroed in 0-2, reference in 3-5
          phonetic float32 [B, STEPS, 9]
  output  mouth    float32 [B, 3, S, S]  BGR 0..1: the reference's upper half, the drawn lower half

The network: a strided-conv encoder of the whole crop (S -> S/16), the phonetic window
through two dense layers added to the bottleneck and to the next level, and a decoder
that works only on the lower half (rows from S/2 on, with a margin), with additive
skips; nearest-neighbour upsampling; sigmoid output. Losses: L1 and image-gradient L1
on the lower half, the mouth's middle weighted up; optionally a patch critic trained
beside the network (--critic), for detail that plain L1 averages away (measured in
docs/face-model.md: not yet worth its cost on the CPU, so off by default).
"""

import argparse
import json
import math
import os
import signal
import sys
import time

import numpy as np

SHAPES = 9
# 10 ms steps a frame's window holds (lipsync/phonetic.rs: 5 frames of 4).
STEPS = 20


def emit(kind, **fields):
    clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in fields.items()}
    print(json.dumps({"event": kind, **clean}), flush=True)


# ------------------------------------------------------------------ the network

def widths(scale):
    return [int(round(c * scale)) for c in (16, 32, 64, 96)]


def init_params(rng, size, steps, scale):
    c1, c2, c3, c4 = widths(scale)

    def conv(rng, cin, cout, k=3):
        w = rng.normal(0, math.sqrt(2.0 / (cin * k * k)), (k, k, cin, cout)).astype(np.float32)
        return {"w": w, "b": np.zeros(cout, np.float32)}

    def dense(rng, fin, fout, gain=2.0):
        return {"w": rng.normal(0, math.sqrt(gain / fin), (fin, fout)).astype(np.float32), "b": np.zeros(fout, np.float32)}

    return {
        "e1": conv(rng, 6, c1), "e2": conv(rng, c1, c2), "e3": conv(rng, c2, c3), "e4": conv(rng, c3, c4),
        "a1": dense(rng, steps * SHAPES, 256), "a4": dense(rng, 256, c4, 1.0), "a3": dense(rng, 256, c3, 1.0),
        "b": conv(rng, c4, c4),
        "d3": conv(rng, c4, c3), "d2": conv(rng, c3, c2), "d1": conv(rng, c2, c1),
        "out": conv(rng, c1, 12),
    }


def forward(jnp, lax, params, face, phonetic):
    """face [B, S, S, 6] NHWC, phonetic [B, STEPS, 9] -> lower half [B, S/2, S, 3] in 0..1."""
    relu = lambda x: jnp.maximum(x, 0)

    def conv(p, x, stride=1):
        y = lax.conv_general_dilated(x, p["w"], (stride, stride), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))
        return y + p["b"]

    def up(x):
        return jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)

    s = face.shape[1]
    e1 = relu(conv(params["e1"], face, 2))   # S/2
    e2 = relu(conv(params["e2"], e1, 2))     # S/4
    e3 = relu(conv(params["e3"], e2, 2))     # S/8
    e4 = relu(conv(params["e4"], e3, 2))     # S/16
    a = phonetic.reshape(phonetic.shape[0], -1)
    a = relu(a @ params["a1"]["w"] + params["a1"]["b"])
    a4 = a @ params["a4"]["w"] + params["a4"]["b"]
    a3 = a @ params["a3"]["w"] + params["a3"]["b"]
    # Lower half from here on: rows [h/2 - 1, h) of each level (one row of margin).
    h4 = s // 16
    b = relu(conv(params["b"], e4[:, h4 // 2 - 1:] + a4[:, None, None, :]))
    d3 = relu(conv(params["d3"], up(b)) + e3[:, s // 8 - 2 * (h4 // 2 + 1):] + a3[:, None, None, :])
    d2 = relu(conv(params["d2"], up(d3)) + e2[:, s // 4 - 4 * (h4 // 2 + 1):])
    d1 = relu(conv(params["d1"], up(d2)) + e1[:, s // 2 - 8 * (h4 // 2 + 1):])
    o = conv(params["out"], d1)  # [B, rows, S/2, 12]
    bsz, rows, cols, _ = o.shape
    # Depth to space (2x2 blocks, channel = (dy * 2 + dx) * 3 + c), as ONNX DepthToSpace DCR.
    o = o.reshape(bsz, rows, cols, 2, 2, 3).transpose(0, 1, 3, 2, 4, 5).reshape(bsz, rows * 2, cols * 2, 3)
    o = o[:, -(s // 2):]
    return 1.0 / (1.0 + jnp.exp(-jnp.clip(o, -30.0, 30.0)))


def init_critic(rng, scale):
    """A patch critic of the lower half: three strided convolutions, one score per
    16x16 patch. It only trains; the exported model has no part of it."""
    c = [int(round(x * scale)) for x in (16, 32, 64)]

    def conv(cin, cout):
        return {"w": rng.normal(0, math.sqrt(2.0 / (cin * 9)), (3, 3, cin, cout)).astype(np.float32), "b": np.zeros(cout, np.float32)}

    return {"c1": conv(3, c[0]), "c2": conv(c[0], c[1]), "c3": conv(c[1], c[2]), "score": conv(c[2], 1)}


def critic(jnp, lax, params, lower):
    """lower [B, S/2, S, 3] in 0..1 -> patch scores [B, S/32, S/16, 1] (real: 1, drawn: 0)."""
    leaky = lambda x: jnp.maximum(x, 0.2 * x)

    def conv(p, x, stride):
        return lax.conv_general_dilated(x, p["w"], (stride, stride), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")) + p["b"]

    x = leaky(conv(params["c1"], lower * 2.0 - 1.0, 2))
    x = leaky(conv(params["c2"], x, 2))
    x = leaky(conv(params["c3"], x, 2))
    return conv(params["score"], x, 2)


# ------------------------------------------------------------------ data

class Data:
    def __init__(self, folder):
        self.frames = np.load(os.path.join(folder, "frames.npy"), mmap_mode="r")
        self.phonetic = np.load(os.path.join(folder, "phonetic.npy"))
        split = np.load(os.path.join(folder, "split.npy"))
        self.train = np.flatnonzero(split == 0)
        self.held = np.flatnonzero(split == 1)
        self.size = self.frames.shape[1]
        self.steps = self.phonetic.shape[1]

    def batch(self, rng, index):
        """Model inputs (NHWC, 0..1) and the lower-half targets for frames `index`."""
        crops = np.asarray(self.frames[np.sort(index)], np.float32) / 255.0
        order = np.argsort(np.argsort(index))
        crops = crops[order]
        s = self.size
        # Reference: another training frame, so the model learns the mouth from the
        # sound and only the look from the reference (at air time it is the frame itself).
        ref_index = rng.choice(self.train, len(index))
        refs = np.asarray(self.frames[np.sort(ref_index)], np.float32)[np.argsort(np.argsort(ref_index))] / 255.0
        masked = crops.copy()
        masked[:, s // 2:] = 0.0
        face = np.concatenate([masked, refs], axis=3)
        return face, self.phonetic[index], crops[:, s // 2:]


def mouth_weight(size):
    """Per-pixel loss weight over the lower half: the mouth's middle counts most."""
    h, w = size // 2, size
    y = (np.arange(h) + 0.5) / h
    x = (np.arange(w) + 0.5) / w
    wy = 1.0 + 2.0 * np.exp(-((y - 0.35) / 0.3) ** 2)
    wx = 1.0 + 2.0 * np.exp(-((x - 0.5) / 0.25) ** 2)
    m = np.outer(wy, wx)
    return (m / m.mean()).astype(np.float32)[None, :, :, None]


# ------------------------------------------------------------------ export

def export(params, size, steps, path):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    inits, nodes = [], []

    def const(name, array):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def conv(name, p, x, stride=1):
        w = np.transpose(np.asarray(p["w"]), (3, 2, 0, 1))  # HWIO -> OIHW
        const(name + ".w", w.astype(np.float32))
        const(name + ".b", np.asarray(p["b"], np.float32))
        k = w.shape[2]
        # "SAME" padding as XLA: for stride 2 and even input, pad 0 before and 1 after.
        if stride == 1:
            pads = [k // 2] * 4
        else:
            pads = [0, 0, 1, 1]
        nodes.append(helper.make_node("Conv", [x, name + ".w", name + ".b"], [name], strides=[stride, stride], pads=pads))
        return name

    def relu(x):
        nodes.append(helper.make_node("Relu", [x], [x + ".r"]))
        return x + ".r"

    def add(a, b, name):
        nodes.append(helper.make_node("Add", [a, b], [name]))
        return name

    def rows_from(x, start, name):
        nodes.append(helper.make_node("Slice", [x, const(name + ".s", np.array([start], np.int64)), const(name + ".e", np.array([1 << 30], np.int64)), const(name + ".a", np.array([2], np.int64))], [name]))
        return name

    def up(x):
        nodes.append(helper.make_node("Resize", [x, "", const(x + ".up", np.array([1, 1, 2, 2], np.float32))], [x + ".u"], mode="nearest"))
        return x + ".u"

    def dense(name, p, x):
        const(name + ".w", np.asarray(p["w"], np.float32))
        const(name + ".b", np.asarray(p["b"], np.float32))
        nodes.append(helper.make_node("MatMul", [x, name + ".w"], [name + ".m"]))
        nodes.append(helper.make_node("Add", [name + ".m", name + ".b"], [name]))
        return name

    def as_map(x, name):
        nodes.append(helper.make_node("Unsqueeze", [x, const(name + ".ax", np.array([2, 3], np.int64))], [name]))
        return name

    s = size
    h4 = s // 16
    nodes.append(helper.make_node("Flatten", ["phonetic"], ["ph"], axis=1))
    a = relu(dense("a1", params["a1"], "ph"))
    a4 = as_map(dense("a4", params["a4"], a), "a4map")
    a3 = as_map(dense("a3", params["a3"], a), "a3map")
    e1 = relu(conv("e1", params["e1"], "face", 2))
    e2 = relu(conv("e2", params["e2"], e1, 2))
    e3 = relu(conv("e3", params["e3"], e2, 2))
    e4 = relu(conv("e4", params["e4"], e3, 2))
    b = relu(conv("b", params["b"], add(rows_from(e4, h4 // 2 - 1, "e4low"), a4, "b_in")))
    d3 = conv("d3", params["d3"], up(b))
    d3 = relu(add(add(d3, rows_from(e3, s // 8 - 2 * (h4 // 2 + 1), "e3low"), "d3s"), a3, "d3a"))
    d2 = relu(add(conv("d2", params["d2"], up(d3)), rows_from(e2, s // 4 - 4 * (h4 // 2 + 1), "e2low"), "d2s"))
    d1 = relu(add(conv("d1", params["d1"], up(d2)), rows_from(e1, s // 2 - 8 * (h4 // 2 + 1), "e1low"), "d1s"))
    o = conv("out", params["out"], d1)
    nodes.append(helper.make_node("DepthToSpace", [o], ["o2"], blocksize=2, mode="DCR"))
    rows = 16 * (h4 // 2 + 1)
    low = rows_from("o2", rows - s // 2, "o_low")
    nodes.append(helper.make_node("Sigmoid", [low], ["lower"]))
    # Upper half: the reference as it is (the paste mask leaves it alone anyway).
    nodes.append(helper.make_node("Slice", ["face", const("ref.s", np.array([3, 0], np.int64)), const("ref.e", np.array([6, s // 2], np.int64)), const("ref.a", np.array([1, 2], np.int64))], ["upper"]))
    nodes.append(helper.make_node("Concat", ["upper", "lower"], ["mouth"], axis=2))

    graph = helper.make_graph(
        nodes, "avatarcast-face-model",
        [helper.make_tensor_value_info("face", TensorProto.FLOAT, ["batch", 6, s, s]),
         helper.make_tensor_value_info("phonetic", TensorProto.FLOAT, ["batch", steps, SHAPES])],
        [helper.make_tensor_value_info("mouth", TensorProto.FLOAT, ["batch", 3, s, s])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="avatarcast")
    model.ir_version = 8
    onnx.checker.check_model(model)
    tmp = path + ".part"
    onnx.save(model, tmp)
    os.replace(tmp, path)


# ------------------------------------------------------------------ training

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data")
    ap.add_argument("--out", required=True, help="the ONNX file to write")
    ap.add_argument("--initial", action="store_true", help="write the network with its initial weights (for timing it) and exit")
    ap.add_argument("--size", type=int, default=160, help="with --initial: the face crop's side")
    ap.add_argument("--epochs", type=float, default=150)
    ap.add_argument("--max-minutes", type=float, default=0, help="0: no limit")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--width", type=float, default=1.0, help="channel multiplier")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--critic", type=float, default=0.0, help="weight of a patch critic trained beside the network (0: none)")
    ap.add_argument("--bench", action="store_true", help="time the training step on random data and exit")
    args = ap.parse_args()
    if args.initial:
        export(init_params(np.random.default_rng(args.seed), args.size, STEPS, args.width), args.size, STEPS, args.out)
        return
    if not args.data:
        ap.error("--data is required")
    started = time.time()
    deadline = started + args.max_minutes * 60 if args.max_minutes > 0 else None

    if args.device == "cpu":
        os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import jax
    import jax.numpy as jnp
    from jax import lax

    if args.device == "cuda" and jax.default_backend() != "gpu":
        emit("error", message="--device cuda: JAX finds no GPU (install jax[cuda12] in the training venv; see docs/face-model.md)")
        sys.exit(2)

    data = Data(args.data)
    size, steps = data.size, data.steps
    if len(data.train) < args.batch:
        emit("error", message=f"only {len(data.train)} training frames")
        sys.exit(2)
    weight = jnp.asarray(mouth_weight(size))

    def reconstruction(out, target):
        l1 = jnp.mean(jnp.abs(out - target) * weight)
        gy = lambda x: x[:, 1:] - x[:, :-1]
        gx = lambda x: x[:, :, 1:] - x[:, :, :-1]
        grad = jnp.mean(jnp.abs(gy(out) - gy(target))) + jnp.mean(jnp.abs(gx(out) - gx(target)))
        return l1 + 0.5 * grad

    def loss_fn(params, cparams, adv, face, phonetic, target):
        out = forward(jnp, lax, params, face, phonetic)
        rec = reconstruction(out, target)
        if args.critic <= 0:
            return rec, (rec, out)
        # Least-squares GAN: the drawn mouth is pushed toward what the critic takes for real.
        fooled = jnp.mean((critic(jnp, lax, cparams, out) - 1.0) ** 2)
        return rec + adv * args.critic * fooled, (rec, out)

    def critic_loss(cparams, drawn, real):
        return 0.5 * (jnp.mean((critic(jnp, lax, cparams, real) - 1.0) ** 2) + jnp.mean(critic(jnp, lax, cparams, drawn) ** 2))

    def adam(params, m, v, grads, t, lr, b1, b2=0.999, eps=1e-8):
        # Clip the update's global norm: one odd batch must not throw the network off.
        norm = jnp.sqrt(sum(jnp.sum(g * g) for g in jax.tree_util.tree_leaves(grads)))
        grads = jax.tree_util.tree_map(lambda g: g * jnp.minimum(1.0, 1.0 / (norm + 1e-6)), grads)
        m = jax.tree_util.tree_map(lambda m, g: b1 * m + (1 - b1) * g, m, grads)
        v = jax.tree_util.tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, v, grads)
        mh = 1 - b1 ** t
        vh = 1 - b2 ** t
        params = jax.tree_util.tree_map(lambda p, m, v: p - lr * (m / mh) / (jnp.sqrt(v / vh) + eps), params, m, v)
        return params, m, v

    @jax.jit
    def train_step(state, t, lr, adv, face, phonetic, target):
        (params, m, v), (cparams, cm, cv) = state
        (_, (rec, out)), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, cparams, adv, face, phonetic, target)
        params, m, v = adam(params, m, v, grads, t, lr, 0.9)
        if args.critic > 0:
            cgrads = jax.grad(critic_loss)(cparams, lax.stop_gradient(out), target)
            cparams, cm, cv = adam(cparams, cm, cv, cgrads, t, 2e-4, 0.5)
        return ((params, m, v), (cparams, cm, cv)), rec

    predict = jax.jit(lambda params, face, phonetic: forward(jnp, lax, params, face, phonetic))

    rng = np.random.default_rng(args.seed)
    def with_moments(p):
        return (p, jax.tree_util.tree_map(np.zeros_like, p), jax.tree_util.tree_map(np.zeros_like, p))

    # The network and the critic (empty without one), each with its Adam moments.
    state = (with_moments(init_params(rng, size, steps, args.width)), with_moments(init_critic(rng, args.width) if args.critic > 0 else {}))
    step = 0
    steps_per_epoch = max(1, len(data.train) // args.batch)
    total = max(1, int(args.epochs * steps_per_epoch))
    checkpoint = os.path.join(args.data, "checkpoint.npz")
    fingerprint = f"{size}:{steps}:{args.width}:{len(data.train)}:{len(data.held)}:critic={args.critic > 0}"
    trained_before = 0.0
    if os.path.exists(checkpoint):
        ck = np.load(checkpoint, allow_pickle=False)
        if str(ck["fingerprint"]) == fingerprint:
            flat, tree = jax.tree_util.tree_flatten(state)
            state = jax.tree_util.tree_unflatten(tree, [ck[f"s{i}"] for i in range(len(flat))])
            step = int(ck["step"])
            trained_before = float(ck["seconds"])
            rng = np.random.default_rng(args.seed + step)
            emit("resumed", step=step, steps=total)
        else:
            emit("restart", reason="the data or the network changed since the checkpoint")

    def save_checkpoint():
        arrays = {f"s{i}": np.asarray(x) for i, x in enumerate(jax.tree_util.tree_leaves(state))}
        tmp = checkpoint + ".part.npz"
        np.savez(tmp, fingerprint=fingerprint, step=step, seconds=trained_before + time.time() - started, **arrays)
        os.replace(tmp, checkpoint)

    held = data.held if len(data.held) else data.train[-args.batch:]
    held_eval = held[np.linspace(0, len(held) - 1, min(len(held), 64)).astype(int)]

    def heldout():
        eval_rng = np.random.default_rng(0)
        face, ph, target = data.batch(eval_rng, held_eval)
        # At air time the reference is the frame itself.
        face[..., 3:] = np.asarray(data.frames[np.sort(held_eval)], np.float32)[np.argsort(np.argsort(held_eval))] / 255.0
        out = np.asarray(predict(state[0][0], face, ph))
        mse = float(np.mean((out - target) ** 2))
        return {"psnr_db": round(10 * math.log10(1.0 / max(mse, 1e-10)), 2), "l1": round(float(np.mean(np.abs(out - target))), 4)}

    if args.bench:
        idx = rng.choice(data.train, args.batch)
        face, ph, target = data.batch(rng, idx)
        state, loss = train_step(state, 1.0, args.lr, 1.0, face, ph, target)
        loss.block_until_ready()
        t0 = time.time()
        for i in range(5):
            state, loss = train_step(state, float(i + 2), args.lr, 1.0, face, ph, target)
        loss.block_until_ready()
        emit("bench", samples_per_second=round(5 * args.batch / (time.time() - t0), 1))
        return

    emit("start", steps=total, step=step, frames=len(data.train), held_out=len(data.held), size=size, backend=jax.default_backend())
    last_report = last_eval = last_save = time.time()
    losses = []
    stopped = "done"
    # SIGTERM stops like Ctrl-C: the checkpoint is saved, nothing is exported.
    def stop(*_):
        raise KeyboardInterrupt()
    signal.signal(signal.SIGTERM, stop)
    try:
        while step < total:
            if deadline and time.time() >= deadline:
                stopped = "time limit"
                break
            idx = rng.choice(data.train, args.batch, replace=False)
            face, ph, target = data.batch(rng, idx)
            # Cosine decay over the whole run (by steps, or by the time allowed when that
            # ends it sooner), with a short warm-up.
            done = step / total
            if deadline:
                done = max(done, (time.time() - started) / (deadline - started))
            lr = args.lr * min(1.0, (step + 1) / 200) * 0.5 * (1 + math.cos(math.pi * min(done, 1.0)))
            # The critic's say grows from a tenth of the run to a fifth: the mouth's
            # shape comes from the reconstruction first, its detail after.
            adv = min(1.0, max(0.0, (done - 0.1) / 0.1))
            state, loss = train_step(state, float(step + 1), lr, adv, face, ph, target)
            step += 1
            losses.append(loss)
            now = time.time()
            if now - last_report >= 2 or step == total:
                # Reading the losses waits for the steps queued so far: the time is then true.
                mean_loss = float(np.mean([float(x) for x in losses]))
                losses = []
                now = time.time()
                if not math.isfinite(mean_loss):
                    emit("error", message=f"training diverged at step {step} (the loss is {mean_loss}); try a lower --lr")
                    sys.exit(3)
                emit("progress", step=step, steps=total, loss=round(mean_loss, 5), seconds=round(trained_before + now - started, 1))
                last_report = now
            if now - last_eval >= 60:
                emit("heldout", step=step, **heldout())
                last_eval = now
            if now - last_save >= 120:
                save_checkpoint()
                last_save = now
    except KeyboardInterrupt:
        # Ctrl-C reaches both this and avatarcast, which passes it on: once is enough.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        save_checkpoint()
        emit("interrupted", step=step)
        sys.exit(130)
    save_checkpoint()
    figures = heldout()
    export(jax.tree_util.tree_map(np.asarray, state[0][0]), size, steps, args.out)
    emit("finished", step=step, steps=total, stopped=stopped, seconds=round(trained_before + time.time() - started, 1), **figures)


if __name__ == "__main__":
    main()
