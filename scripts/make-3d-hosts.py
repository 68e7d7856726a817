#!/usr/bin/env python3
"""Generate three procedural, deterministic test hosts for avatarcast.

    python3 scripts/make-3d-hosts.py --out DIR [--commercial-usage corporation|personalProfit|personalNonProfit]

writes DIR/host-vrm1.vrm (VRM 1.0 toon host), DIR/host-vrm0.vrm (same character as VRM 0.x)
and DIR/host-arkit.glb (plain glTF, semi-realistic, Mixamo bone names, ARKit + Oculus viseme
morph targets). Everything is modelled by code (stdlib only); the same command always writes
byte-identical files.

Conventions: metres, +Y up, feet at Y=0, the character faces +Z (VRM 0.x output is rotated 180
degrees about Y in the vertex data, as that format expects), rest pose is a T-pose with identity
node rotations so inverse bind matrices are pure translations.
"""
import argparse
import json
import math
import os
import struct
import zlib

# ----------------------------------------------------------------------------- vector helpers


def add(a, b):
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2])


def sub(a, b):
    return (a[0] - b[0], a[1] - b[1], a[2] - b[2])


def mul(a, s):
    return (a[0] * s, a[1] * s, a[2] * s)


def dot(a, b):
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def cross(a, b):
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def length(a):
    return math.sqrt(dot(a, a))


def norm(a):
    n = length(a)
    return (a[0] / n, a[1] / n, a[2] / n) if n > 1e-12 else (0.0, 0.0, 0.0)


def vlerp(a, b, t):
    return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t)


def lerp(a, b, t):
    return a + (b - a) * t


def clamp(x, lo, hi):
    return lo if x < lo else hi if x > hi else x


def smoothstep(e0, e1, x):
    t = clamp((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def srgb_to_linear(c):
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def lin3(rgb):
    return [round(srgb_to_linear(c), 5) for c in rgb]


def spline(points, samples):
    """Uniform Catmull-Rom through `points`, `samples` points including both ends."""
    pts = [points[0]] + list(points) + [points[-1]]
    segs = len(points) - 1
    out = []
    for k in range(samples):
        g = k / (samples - 1) * segs
        i = min(int(g), segs - 1)
        t = g - i
        p0, p1, p2, p3 = pts[i], pts[i + 1], pts[i + 2], pts[i + 3]
        t2, t3 = t * t, t * t * t
        out.append(tuple(0.5 * ((2 * p1[c]) + (-p0[c] + p2[c]) * t + (2 * p0[c] - 5 * p1[c] + 4 * p2[c] - p3[c]) * t2
                                + (-p0[c] + 3 * p1[c] - 3 * p2[c] + p3[c]) * t3) for c in range(3)))
    return out


def frames(centers, ref):
    """Per-point (e1, e2) cross-section axes; e1 follows `ref` (vector or callable(i))."""
    out = []
    n = len(centers)
    for i in range(n):
        a, b = centers[max(i - 1, 0)], centers[min(i + 1, n - 1)]
        t = norm(sub(b, a))
        r = ref(i) if callable(ref) else ref
        e1 = norm(sub(r, mul(t, dot(r, t))))
        out.append((e1, cross(t, e1)))
    return out


def superellipse_ring(center, e1, e2, r1, r2, n, expo=2.0, phase=0.0):
    ring = []
    for j in range(n):
        a = 2 * math.pi * j / n + phase
        c, s = math.cos(a), math.sin(a)
        if expo != 2.0:  # |c|^(2/e) keeps the ring convex but boxier for e > 2
            c = math.copysign(abs(c) ** (2.0 / expo), c)
            s = math.copysign(abs(s) ** (2.0 / expo), s)
        ring.append(add(center, add(mul(e1, r1 * c), mul(e2, r2 * s))))
    return ring


def sweep(centers, fr, r1s, r2s, n, expo=2.0):
    return [superellipse_ring(c, f[0], f[1], a, b, n, expo) for c, f, a, b in zip(centers, fr, r1s, r2s)]


def tri_area2(a, b, c):
    return length(cross(sub(b, a), sub(c, a)))


# ----------------------------------------------------------------------------- mesh parts


class Part:
    """Triangles of one material; grids are appended with their own skin weights."""

    def __init__(self, material):
        self.material = material
        self.pos, self.uv, self.tris, self.weights = [], [], [], []

    def grid(self, rings, weight_fn, closed=True, uv=None, inside=None, facing=None, skip_degenerate=True):
        """Quad grid over rings (rows of points). Winding is chosen so normals point away from
        `inside` (a point per row, or one point) or along `facing` (a vector)."""
        base, rows, n = len(self.pos), len(rings), len(rings[0])
        cols = n + 1 if closed else n
        for i, ring in enumerate(rings):
            for j in range(cols):
                p = ring[j % n]
                self.pos.append(p)
                self.uv.append(uv(i, j, rows, cols) if uv else (j / (cols - 1), i / max(rows - 1, 1)))
                self.weights.append(weight_fn(p))
        new = []
        for i in range(rows - 1):
            for j in range(cols - 1):
                a = base + i * cols + j
                b, c, d = a + 1, a + cols, a + cols + 1
                for t in ((a, c, b), (b, c, d)):
                    if skip_degenerate and tri_area2(self.pos[t[0]], self.pos[t[1]], self.pos[t[2]]) < 1e-12:
                        continue
                    new.append((t, i))
        score = 0.0
        for (t, i) in new:
            pa, pb, pc = (self.pos[k] for k in t)
            nrm = cross(sub(pb, pa), sub(pc, pa))
            if facing is not None:
                score += dot(nrm, facing)
            else:
                ref = inside[i] if isinstance(inside, list) else inside
                score += dot(nrm, sub(mul(add(add(pa, pb), pc), 1 / 3), ref))
        flip = score < 0
        self.tris.extend(((t[0], t[2], t[1]) if flip else t) for (t, _) in new)
        return base

    def normals(self):
        """Area-weighted smooth normals, welded by position so seams and poles stay smooth."""
        acc = {}
        key = [(round(p[0] * 2e5), round(p[1] * 2e5), round(p[2] * 2e5)) for p in self.pos]
        for a, b, c in self.tris:
            n = cross(sub(self.pos[b], self.pos[a]), sub(self.pos[c], self.pos[a]))
            for k in (a, b, c):
                acc[key[k]] = add(acc.get(key[k], (0.0, 0.0, 0.0)), n)
        out = []
        for k in key:
            v = norm(acc.get(k, (0.0, 1.0, 0.0)))
            out.append(v if v != (0.0, 0.0, 0.0) else (0.0, 1.0, 0.0))
        return out


def rigid(joint):
    return lambda p: {joint: 1.0}


def chain_weights(p, chain, blend):
    """Blend weights along a chain of (joint, start point); bone k covers start_k..start_k+1.
    The point is projected onto the polyline; each boundary blends over +-blend metres."""
    if len(chain) == 1:
        return {chain[0][0]: 1.0}
    pts = [c[1] for c in chain]
    svals = [0.0]
    for i in range(len(pts) - 1):
        svals.append(svals[-1] + length(sub(pts[i + 1], pts[i])))
    best = None
    for i in range(len(pts) - 1):
        a, b = pts[i], pts[i + 1]
        ab = sub(b, a)
        l2 = dot(ab, ab)
        t = dot(sub(p, a), ab) / l2
        lo = -1e9 if i == 0 else 0.0
        hi = 1e9 if i == len(pts) - 2 else 1.0
        t = clamp(t, lo, hi)
        d = length(sub(p, add(a, mul(ab, t))))
        if best is None or d < best[0] - 1e-12:
            best = (d, svals[i] + t * math.sqrt(l2))
    s = best[1]
    bl = blend if isinstance(blend, (list, tuple)) else [blend] * len(chain)
    w = {}
    for k in range(len(chain)):
        lo = 1.0 if k == 0 else smoothstep(svals[k] - bl[k - 1], svals[k] + bl[k - 1], s)
        hi = 1.0 if k == len(chain) - 1 else 1.0 - smoothstep(svals[k + 1] - bl[k], svals[k + 1] + bl[k], s)
        if lo * hi > 0:
            w[chain[k][0]] = w.get(chain[k][0], 0.0) + lo * hi
    return w


def mix_weights(a, b, t):
    out = {}
    for k, v in a.items():
        out[k] = out.get(k, 0.0) + v * (1 - t)
    for k, v in b.items():
        out[k] = out.get(k, 0.0) + v * t
    return {k: v for k, v in out.items() if v > 0}


# ----------------------------------------------------------------------------- PNG textures


def png(width, height, pixels, channels):
    """pixels: flat list of 0..255 ints, row-major, top row first."""
    raw = bytearray()
    stride = width * channels
    for y in range(height):
        raw.append(0)
        raw.extend(pixels[y * stride:(y + 1) * stride])

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    ctype = {3: 2, 4: 6}[channels]
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, ctype, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + chunk(b"IEND", b""))


class Rng:
    """Tiny LCG so texture noise is identical on every run and platform."""

    def __init__(self, seed):
        self.s = seed & 0xFFFFFFFF

    def next(self):
        self.s = (self.s * 1664525 + 1013904223) & 0xFFFFFFFF
        return self.s / 4294967296.0


def iris_png(inner, outer, size=64, seed=7):
    rng = Rng(seed)
    streak = [rng.next() for _ in range(48)]
    px = []
    for y in range(size):
        for x in range(size):
            u = (x + 0.5) / size * 2 - 1
            v = (y + 0.5) / size * 2 - 1  # v < 0 is the top of the iris
            r = math.sqrt(u * u + v * v)
            ang = (math.atan2(v, u) / (2 * math.pi) + 0.5) * 48
            s = streak[int(ang) % 48] * 0.12
            t = clamp((v + 1) / 2, 0, 1)  # darker at the top, lighter towards the bottom
            col = [lerp(outer[c], inner[c], t ** 0.8) * (1 - s) for c in range(3)]
            ring = smoothstep(0.80, 0.98, r)  # dark limbal ring
            col = [lerp(col[c], outer[c] * 0.35, ring) for c in range(3)]
            pupil = 1 - smoothstep(0.30, 0.36, r)
            col = [lerp(col[c], 0.06, pupil) for c in range(3)]
            px.extend(int(clamp(c, 0, 1) * 255 + 0.5) for c in col)
    return png(size, size, px, 3)


def highlight_png(size=32):
    px = []
    for y in range(size):
        for x in range(size):
            u = (x + 0.5) / size * 2 - 1
            v = (y + 0.5) / size * 2 - 1
            a = 1 - smoothstep(0.75, 0.95, math.sqrt(u * u + v * v))
            px.extend((255, 255, 255, int(a * 255 + 0.5)))
    return png(size, size, px, 4)


def twill_height(x, y, size):
    # diagonal twill ribs plus a faint cross weave; tileable because periods divide `size`
    return (0.6 * math.sin(2 * math.pi * (x + y) * 8 / size) + 0.25 * math.sin(2 * math.pi * x * 16 / size)
            * math.sin(2 * math.pi * y * 16 / size))


def fabric_pngs(size=64, seed=11):
    rng = Rng(seed)
    noise = [rng.next() for _ in range(size * size)]
    base, nrm = [], []
    for y in range(size):
        for x in range(size):
            h = twill_height(x, y, size)
            g = 0.86 + 0.08 * h + 0.06 * (noise[y * size + x] - 0.5)
            base.extend([int(clamp(g, 0, 1) * 255 + 0.5)] * 3)
            dx = (twill_height(x + 1, y, size) - twill_height(x - 1, y, size)) * 0.5
            dy = (twill_height(x, y + 1, size) - twill_height(x, y - 1, size)) * 0.5
            n = norm((-dx * 0.35, dy * 0.35, 1.0))  # +Y of tangent space points up the image
            nrm.extend(int((c * 0.5 + 0.5) * 255 + 0.5) for c in n)
    return png(size, size, base, 3), png(size, size, nrm, 3)


# ----------------------------------------------------------------------------- styles

L, R = "left", "right"

CARTOON = {
    "name": "cartoon",
    "joints": {
        "hips": (0, 0.86, 0), "spine": (0, 0.95, 0), "chest": (0, 1.05, 0), "upperChest": (0, 1.15, 0),
        "neck": (0, 1.276, -0.006), "head": (0, 1.338, 0),
        "shoulder": (0.025, 1.255, -0.004), "upperArm": (0.105, 1.255, -0.004),
        "lowerArm": (0.325, 1.255, -0.004), "hand": (0.53, 1.255, -0.004),
        "upperLeg": (0.075, 0.82, 0), "lowerLeg": (0.075, 0.45, 0), "foot": (0.075, 0.075, -0.005),
        "toes": (0.075, 0.02, 0.085),
    },
    "head": {"C": (0, 1.440, 0.0), "a": 0.107, "b": 0.124, "c": 0.108, "back": 1.04, "jaw_taper": 0.52,
             "jaw_start": -0.30, "jaw_pow": 2.0, "chin_fwd": 0.010, "nape": 0.62, "chin_drop": 0.92, "flat": 0.86, "cheek": 0.009, "nose": 0.0035, "nose_sx": 0.05,
             "nose_y": -0.34, "nose_sy": 0.07, "ridge": 0.0, "socket": 0.0, "muzzle": 0.0, "ears": False},
    "torso": [  # (y, rx, rz, zc) superellipse rings of the top, bottom to neck
        (0.895, 0.0, 0.0, 0.0), (0.90, 0.106, 0.074, 0.0), (0.94, 0.106, 0.074, 0.0), (0.99, 0.100, 0.070, 0.0),
        (1.06, 0.108, 0.076, 0.004), (1.12, 0.120, 0.088, 0.012), (1.17, 0.124, 0.086, 0.010),
        (1.21, 0.127, 0.076, 0.002), (1.245, 0.122, 0.068, -0.003), (1.265, 0.110, 0.061, -0.005),
        (1.28, 0.094, 0.055, -0.006), (1.291, 0.074, 0.049, -0.006), (1.298, 0.055, 0.042, -0.006),
        (1.302, 0.0, 0.0, -0.006)],
    "pelvis": [(0.982, 0.0, 0.0, 0.0), (0.995, 0.104, 0.074, 0.0), (0.95, 0.118, 0.082, 0.0),
               (0.89, 0.130, 0.085, -0.003), (0.845, 0.132, 0.080, -0.006), (0.81, 0.118, 0.060, -0.008),
               (0.785, 0.080, 0.045, -0.008), (0.775, 0.0, 0.0, -0.008)],
    "belt": (0.975, 0.111, 0.080, 0.011),
    "neck_r": (0.039, 0.037, 1.21, 1.42),
    "leg": [(0.92, 0.050), (0.85, 0.062), (0.70, 0.058), (0.55, 0.051), (0.45, 0.047), (0.34, 0.047),
            (0.20, 0.044), (0.10, 0.045), (0.068, 0.046), (0.064, 0.0)],
    "arm": [(0.10, 0.0), (0.104, 0.020), (0.13, 0.029), (0.18, 0.030), (0.27, 0.028), (0.325, 0.025), (0.38, 0.025),
            (0.45, 0.023), (0.515, 0.019), (0.545, 0.019), (0.55, 0.0)],
    "sleeve": [(0.04, 0.0), (0.045, 0.014), (0.07, 0.023), (0.10, 0.032), (0.13, 0.040), (0.16, 0.043),
               (0.222, 0.040), (0.232, 0.038), (0.234, 0.027)],
    "cuff": None,
    "hand_len": 1.0,
    "shoe": [(-0.062, 0.0, 0.0), (-0.058, 0.026, 0.040), (-0.045, 0.036, 0.066), (-0.01, 0.041, 0.080),
             (0.03, 0.044, 0.070), (0.07, 0.045, 0.052), (0.10, 0.042, 0.042), (0.125, 0.032, 0.032),
             (0.135, 0.018, 0.020), (0.139, 0.0, 0.0)],
    "sole_h": 0.013,
    "collar": True,
    "blazer": False,
    # face layout (absolute metres)
    "eye": {"ex": 0.038, "dy": -0.026, "ew": 0.0225, "ehu": 0.0162, "ehl": 0.0112, "lash": 0.0034,
            "irx": 0.0132, "iry": 0.0162, "idy": -0.0015, "lower_lash": True},
    "brow": {"bx": 0.039, "dy": 0.010, "bw": 0.017, "bt": 0.0022, "arch": 0.003},
    "mouth": {"dy": -0.071, "ku": 1.6, "kl": 0.9, "lips": False, "teeth": 0.0022, "lteeth": 0.0},
    "blush": True,
    "hair": {"off": 0.007, "top": 0.008, "theta_front": 58, "theta_side": 100, "theta_back": 130,
             # bangs: (root phi, tip phi, tip theta, width); phi 0 = front, + towards the left (+X)
             "bang_root": 24, "bang_lift": 0.9,
             "bangs": [(-40, -84, 94, 0.036), (-28, -60, 84, 0.042), (-18, -38, 80, 0.044), (-8, -18, 85, 0.044),
                       (2, 0, 79, 0.042), (10, 16, 84, 0.044), (20, 36, 80, 0.044), (28, 58, 85, 0.042),
                       (40, 84, 94, 0.036)],
             "lock": {"phi": 72, "len": 0.15, "w": 0.017, "th": 0.012},
             "tail": {"theta": 68, "pts": [(0, 0.0, 0.0), (0, 0.012, -0.045), (0, -0.055, -0.09), (0, -0.17, -0.085),
                                           (0, -0.29, -0.055), (0, -0.36, -0.035)],
                      "radius": [0.020, 0.034, 0.044, 0.040, 0.028, 0.012, 0.0], "joints": [0.0, 0.3, 0.6, 0.85]}},
}

REALISTIC = {
    "name": "realistic",
    "joints": {
        "hips": (0, 0.95, 0), "spine": (0, 1.04, 0), "chest": (0, 1.15, 0), "upperChest": (0, 1.27, 0),
        "neck": (0, 1.42, -0.008), "head": (0, 1.482, 0.0),
        "shoulder": (0.035, 1.39, -0.006), "upperArm": (0.185, 1.39, -0.006),
        "lowerArm": (0.46, 1.39, -0.006), "hand": (0.72, 1.39, -0.006),
        "upperLeg": (0.085, 0.90, 0), "lowerLeg": (0.085, 0.50, 0), "foot": (0.085, 0.08, -0.01),
        "toes": (0.085, 0.02, 0.10),
    },
    "head": {"C": (0, 1.578, 0.004), "a": 0.081, "b": 0.114, "c": 0.101, "back": 1.04, "jaw_taper": 0.40,
             "jaw_start": -0.40, "jaw_pow": 2.6, "chin_fwd": 0.012, "nape": 0.62, "chin_drop": 1.0, "flat": 0.97, "cheek": 0.006, "nose": 0.013, "nose_sx": 0.085,
             "nose_y": -0.33, "nose_sy": 0.10, "ridge": 1.0, "socket": 0.0035, "muzzle": 0.004, "ears": True},
    "torso": [
        (0.855, 0.0, 0.0, 0.0), (0.86, 0.150, 0.110, 0.0), (0.93, 0.142, 0.104, 0.0), (1.00, 0.130, 0.097, 0.0),
        (1.07, 0.122, 0.096, 0.004), (1.15, 0.134, 0.108, 0.012), (1.23, 0.146, 0.112, 0.012),
        (1.29, 0.152, 0.104, 0.006), (1.34, 0.156, 0.092, 0.0), (1.375, 0.150, 0.082, -0.004),
        (1.40, 0.134, 0.073, -0.007), (1.418, 0.110, 0.066, -0.008), (1.432, 0.082, 0.061, -0.008),
        (1.442, 0.062, 0.058, -0.008), (1.446, 0.0, 0.0, -0.008)],
    "lapel_top": 1.40,
    "pelvis": [(0.99, 0.0, 0.0, 0.0), (1.00, 0.110, 0.078, 0.0), (0.95, 0.122, 0.085, 0.0),
               (0.90, 0.132, 0.088, -0.003), (0.86, 0.132, 0.080, -0.006), (0.83, 0.118, 0.062, -0.008),
               (0.805, 0.080, 0.046, -0.008), (0.795, 0.0, 0.0, -0.008)],
    "belt": None,
    "neck_r": (0.055, 0.052, 1.36, 1.53),
    "leg": [(0.93, 0.050), (0.89, 0.064), (0.75, 0.063), (0.60, 0.057), (0.50, 0.052), (0.38, 0.052),
            (0.22, 0.049), (0.10, 0.050), (0.072, 0.051), (0.068, 0.0)],
    "arm": None,  # long sleeves; only hands are bare
    "sleeve": [(0.06, 0.0), (0.065, 0.018), (0.10, 0.028), (0.15, 0.040), (0.19, 0.049), (0.24, 0.052), (0.30, 0.049),
               (0.46, 0.043), (0.62, 0.040), (0.702, 0.039), (0.706, 0.031), (0.704, 0.020)],
    "cuff": (0.698, 0.720, 0.034),
    "hand_len": 1.25,
    "shoe": [(-0.068, 0.0, 0.0), (-0.064, 0.026, 0.036), (-0.05, 0.036, 0.062), (-0.01, 0.040, 0.072),
             (0.04, 0.043, 0.058), (0.09, 0.043, 0.042), (0.13, 0.036, 0.032), (0.155, 0.022, 0.022),
             (0.162, 0.0, 0.0)],
    "sole_h": 0.011,
    "collar": False,
    "blazer": True,
    "eye": {"ex": 0.0325, "dy": -0.008, "ew": 0.0145, "ehu": 0.0068, "ehl": 0.0047, "lash": 0.0016,
            "irx": 0.0065, "iry": 0.0065, "idy": 0.0, "lower_lash": False},
    "brow": {"bx": 0.0335, "dy": 0.012, "bw": 0.020, "bt": 0.0042, "arch": 0.0028},
    "mouth": {"dy": -0.066, "ku": 1.2, "kl": 1.0, "lips": True, "teeth": 0.0035, "lteeth": 0.0025},
    "blush": False,
    "hair": {"off": 0.009, "top": 0.016, "theta_front": 50, "theta_side": 128, "theta_back": 140,
             # chin-length bob: below `hang` degrees the hair falls straight instead of following the skull
             "bob": {"hang": 84, "vol": 0.006, "curl": 0.08, "drop": 0.022, "rows": 18},
             "bang_root": 26, "bang_lift": 0.35,
             # side part: a wide sweep across the forehead and a narrow one on the other side
             "bangs": [(-14, 58, 70, 0.075), (-4, 30, 62, 0.06), (-22, -58, 74, 0.045)],
             "lock": {"phi": 82, "len": 0.07, "w": 0.009, "th": 0.006},
             # tucked under the bob: a short, full section at the nape
             "tail": {"theta": 118, "pts": [(0, 0.0, 0.0), (0, -0.012, -0.012), (0, -0.03, -0.016), (0, -0.05, -0.014),
                                            (0, -0.066, -0.008), (0, -0.074, -0.002)],
                      "radius": [0.024, 0.032, 0.034, 0.032, 0.026, 0.014, 0.0], "joints": [0.0, 0.3, 0.6, 0.85]}},
}

# ----------------------------------------------------------------------------- skeleton

SPINE = ["hips", "spine", "chest", "upperChest", "neck", "head"]
HAIR_CHAINS = {"tail": ["hairTail1", "hairTail2", "hairTail3", "hairTail4"],
               "lockL": ["hairLockL1", "hairLockL2", "hairLockL3"],
               "lockR": ["hairLockR1", "hairLockR2", "hairLockR3"]}


def build_skeleton(style, extra):
    """Returns ordered [(name, parent, global position)]; `extra` adds eyes and hair joints."""
    j = style["joints"]
    out = []
    parent = None
    for n in SPINE:
        out.append((n, parent, j[n]))
        parent = n
    for side, s in ((L, 1), (R, -1)):
        mirror = lambda p: (p[0] * s, p[1], p[2])
        out.append((side + "Eye", "head", extra[side + "Eye"]))
        prev = "upperChest"
        for n in ("shoulder", "upperArm", "lowerArm", "hand"):
            name = side + n[0].upper() + n[1:]
            out.append((name, prev, mirror(j[n])))
            prev = name
        prev = "hips"
        for n in ("upperLeg", "lowerLeg", "foot", "toes"):
            name = side + n[0].upper() + n[1:]
            out.append((name, prev, mirror(j[n])))
            prev = name
    for chain in ("tail", "lockL", "lockR"):
        prev = "head"
        for n in HAIR_CHAINS[chain]:
            out.append((n, prev, extra[n]))
            prev = n
    return out


# ----------------------------------------------------------------------------- head & face


def head_point(hs, d):
    """Map a unit direction to the head surface: ellipsoid + tapered jaw, chin, cheeks, nose."""
    x, y, z = d
    X, Y, Z = x * hs["a"], y * hs["b"], z * hs["c"]
    if z < 0:
        Z *= hs["back"]
    else:
        Z *= hs["flat"] + (1 - hs["flat"]) * (1 - z)  # flatter face plane
    if y < 0:
        # the jaw reaches down at the front while the skull base sits high at the back
        Y *= lerp(hs["nape"], hs["chin_drop"], smoothstep(-0.5, 0.7, z))
        X *= 1 - hs["jaw_taper"] * smoothstep(hs["jaw_start"], -1.0, y) ** hs["jaw_pow"]
        Z += hs["chin_fwd"] * smoothstep(-0.45, -1.0, y) * max(0.0, z)
    front = smoothstep(0.2, 0.8, z)
    cheek = math.exp(-((y + 0.35) / 0.22) ** 2) * math.exp(-((abs(x) - 0.55) / 0.25) ** 2)
    X += math.copysign(hs["cheek"] * cheek * front, x)
    Z += hs["cheek"] * 0.6 * cheek * front
    # nose: a small bump (toon) or a ridge running down from between the eyes (realistic)
    ny, sx, sy = hs["nose_y"], hs["nose_sx"], hs["nose_sy"]
    if hs["ridge"] > 0:
        prof = smoothstep(0.08, ny, y) * (1 - smoothstep(ny - 0.01, ny - 0.09, y))
        width = sx * (0.55 + 0.6 * smoothstep(0.0, ny, y))
        bump = prof ** 1.3 * math.exp(-(x / width) ** 2)
        bump += 0.35 * math.exp(-(x / (sx * 1.6)) ** 2 - ((y - ny + 0.03) / 0.045) ** 2)  # nostril wings
    else:
        bump = math.exp(-(x / sx) ** 2 - ((y - ny) / sy) ** 2)
    Z += hs["nose"] * bump * front
    # eye sockets and muzzle give the realistic face some relief
    if hs["socket"]:
        for sxn in (-0.40, 0.40):
            Z -= hs["socket"] * math.exp(-((x - sxn) / 0.2) ** 2 - ((y + 0.05) / 0.12) ** 2) * front
        Z += hs["muzzle"] * math.exp(-(x / 0.35) ** 2 - ((y + 0.58) / 0.2) ** 2) * front
    return add(hs["C"], (X, Y, Z))


def sphere_dir(theta, phi):
    # theta from +Y, phi = 0 at +Z (front), positive towards +X
    return (math.sin(theta) * math.sin(phi), math.cos(theta), math.sin(theta) * math.cos(phi))


class Heightfield:
    """Front-most z of a mesh sampled on an (x, y) grid, used to lay decals onto the face."""

    def __init__(self, pos, tris, x0, x1, y0, y1, res):
        self.x0, self.y0, self.res = x0, y0, res
        self.nx, self.ny = int((x1 - x0) / res) + 1, int((y1 - y0) / res) + 1
        z = [-1e9] * (self.nx * self.ny)
        for a, b, c in tris:
            pa, pb, pc = pos[a], pos[b], pos[c]
            if cross(sub(pb, pa), sub(pc, pa))[2] <= 0:
                continue
            i0 = max(int((min(pa[0], pb[0], pc[0]) - x0) / res), 0)
            i1 = min(int((max(pa[0], pb[0], pc[0]) - x0) / res) + 1, self.nx - 1)
            j0 = max(int((min(pa[1], pb[1], pc[1]) - y0) / res), 0)
            j1 = min(int((max(pa[1], pb[1], pc[1]) - y0) / res) + 1, self.ny - 1)
            det = (pb[1] - pc[1]) * (pa[0] - pc[0]) + (pc[0] - pb[0]) * (pa[1] - pc[1])
            if abs(det) < 1e-14:
                continue
            for j in range(j0, j1 + 1):
                y = y0 + j * res
                for i in range(i0, i1 + 1):
                    x = x0 + i * res
                    l1 = ((pb[1] - pc[1]) * (x - pc[0]) + (pc[0] - pb[0]) * (y - pc[1])) / det
                    l2 = ((pc[1] - pa[1]) * (x - pc[0]) + (pa[0] - pc[0]) * (y - pc[1])) / det
                    l3 = 1 - l1 - l2
                    if l1 < -1e-9 or l2 < -1e-9 or l3 < -1e-9:
                        continue
                    zz = l1 * pa[2] + l2 * pb[2] + l3 * pc[2]
                    k = j * self.nx + i
                    if zz > z[k]:
                        z[k] = zz
        self.z = z

    def at(self, x, y):
        fx, fy = (x - self.x0) / self.res, (y - self.y0) / self.res
        i, j = int(math.floor(fx)), int(math.floor(fy))
        tx, ty = fx - i, fy - j
        acc = wsum = 0.0
        for di, dj, w in ((0, 0, (1 - tx) * (1 - ty)), (1, 0, tx * (1 - ty)), (0, 1, (1 - tx) * ty), (1, 1, tx * ty)):
            ii, jj = clamp(i + di, 0, self.nx - 1), clamp(j + dj, 0, self.ny - 1)
            v = self.z[jj * self.nx + ii]
            if v > -1e8:
                acc += v * w
                wsum += w
        return acc / wsum if wsum > 1e-9 else 0.0


def squircle(a, b):
    # square grid -> disc without a degenerate pole
    return a * math.sqrt(max(0.0, 1 - b * b / 2)), b * math.sqrt(max(0.0, 1 - a * a / 2))


class Face:
    """Parametric face: head skin + decal features. geometry(state) returns the positions of every
    face vertex for that state with a fixed topology, so morph targets are plain differences."""

    def __init__(self, style):
        self.style = style
        hs = style["head"]
        self.hs, self.C = hs, hs["C"]
        # head skin
        self.head = Part("skin")
        rows, cols = 28, 38
        rings = []
        for i in range(rows + 1):
            th = math.pi * i / rows
            rings.append([head_point(hs, sphere_dir(th, 2 * math.pi * k / cols)) for k in range(cols)])
        self.head.grid(rings, rigid("head"), inside=self.C)
        self.head_neutral = list(self.head.pos)
        C = self.C
        self.hf = Heightfield(self.head.pos, self.head.tris, C[0] - 0.11, C[0] + 0.11, C[1] - 0.16, C[1] + 0.09, 0.0005)
        e, m = style["eye"], style["mouth"]
        self.ey = C[1] + e["dy"]
        self.my = C[1] + m["dy"]
        self.parts = {}  # name -> (material, builder)
        self.defaults = self.neutral_state()

    # -- state ---------------------------------------------------------------------
    def neutral_state(self):
        cartoon = self.style["name"] == "cartoon"
        s = {"jaw": 0.0, "shift": 0.0, "push": 0.0, "tongue": 0.0, "tongue_out": 0.0, "cheek_puff": 0.0,
             "lipU": 0.0045 if not cartoon else 0.0, "lipL": 0.0058 if not cartoon else 0.0,
             "ku": self.style["mouth"]["ku"], "kl": self.style["mouth"]["kl"], "iris_s": 1.0, "mdy": 0.0}
        for side in (L, R):
            s.update({"W_" + side: 0.0125 if cartoon else 0.0235, "Hu_" + side: 0.0005 if cartoon else 0.0003,
                      "Hl_" + side: 0.0009 if cartoon else 0.0003, "C_" + side: 0.0016 if cartoon else 0.0006,
                      "open_" + side: 1.0, "arch_" + side: -0.6, "tilt_in_" + side: 0.0, "tilt_out_" + side: 0.0,
                      "squint_" + side: 0.0, "lookx_" + side: 0.0, "looky_" + side: 0.0,
                      "brow_in_" + side: 0.0, "brow_out_" + side: 0.0, "brow_x_" + side: 0.0})
        return s

    def state(self, **kw):
        """Overrides; a key without _left/_right sets both sides. Values are absolute."""
        s = dict(self.defaults)
        for k, v in kw.items():
            if k in s:
                s[k] = v
            else:
                for side in (L, R):
                    s[k + "_" + side] = v
        return s

    def delta_state(self, **kw):
        """Like state() but values are added to the neutral values."""
        s = dict(self.defaults)
        for k, v in kw.items():
            keys = [k] if k in s else [k + "_" + L, k + "_" + R]
            for kk in keys:
                s[kk] = s[kk] + v
        return s

    # -- helpers -------------------------------------------------------------------
    def jaw_weight(self, x, y):
        hs = self.hs
        return (smoothstep(self.my + 0.004, self.my - 0.018, y) * smoothstep(hs["a"] * 0.85, hs["a"] * 0.35, abs(x)))

    def surf(self, st, x, y, off):
        # decals follow the deformed skin: look up where this point came from before the jaw drop
        y0 = y + st["jaw"] * self.jaw_weight(x, y)
        return (x, y, self.hf.at(x, y0) + off)

    def skin_positions(self, st):
        out = []
        C, hs = self.C, self.hs
        for p in self.head_neutral:
            x, y, z = p
            if z > C[2]:
                fz = smoothstep(C[2], C[2] + 0.05, z)
                y -= st["jaw"] * self.jaw_weight(x, y) * fz
                if st["cheek_puff"]:
                    w = math.exp(-((abs(x) - hs["a"] * 0.6) / 0.025) ** 2 - ((y - self.my - 0.004) / 0.03) ** 2) * fz
                    x += math.copysign(st["cheek_puff"] * w * 0.7, x)
                    z += st["cheek_puff"] * w
            out.append((x, y, z))
        return out

    # -- mouth ---------------------------------------------------------------------
    def mouth_curves(self, st, u):
        side = L if u > 0 else R
        s = math.sqrt(max(0.0, 1 - (0.985 * u) ** 2))
        x = st["shift"] + abs(u) * st["W_" + side] * (1 if u >= 0 else -1)
        my = self.my + st["mdy"]
        corner = st["C_" + side] * u * u
        up = my + corner + st["Hu_" + side] * s ** st["ku"]
        lo = my + corner - st["Hl_" + side] * s ** st["kl"]
        return x, up, lo, s

    def mouth_layer(self, st, u0, u1, nu, nv, fn, off):
        pts = []
        for i in range(nv + 1):
            v = i / nv
            row = []
            for k in range(nu + 1):
                u = lerp(u0, u1, k / nu)
                x, up, lo, s = self.mouth_curves(st, u)
                y = fn(u, v, up, lo, s)
                p = self.surf(st, x, y, off)
                row.append((p[0], p[1], p[2] + st["push"] * s))
            pts.append(row)
        return pts

    # -- eyes ----------------------------------------------------------------------
    def eye_curves(self, st, side, u):
        e = self.style["eye"]
        sg = 1 if side == L else -1
        u = clamp(u, -1.0, 1.0)
        x = sg * (e["ex"] + u * e["ew"])
        ey = self.ey
        s = math.sqrt(max(0.0, 1 - u * u))
        up0 = ey + e["ehu"] * s * (1 + 0.18 * u)
        lo0 = ey - e["ehl"] * s ** 1.4
        arch = st["arch_" + side]
        closed = ey - e["ehl"] * 0.35 + (0.5 if arch > 0 else 0.35) * e["ehu"] * arch * (1 - u * u)
        if arch > 0:
            closed += 0.25 * e["ehu"] * arch
        o = st["open_" + side]
        up = closed + o * (up0 - closed)
        lo = closed + min(o, 1.0) * (lo0 - closed)
        up -= e["ehu"] * 0.55 * st["tilt_in_" + side] * (1 - u) / 2 * min(o, 1.0)
        up -= e["ehu"] * 0.45 * st["tilt_out_" + side] * (1 + u) / 2 * min(o, 1.0)
        lo += st["squint_" + side] * 0.45 * max(0.0, up - lo)
        up = max(up, lo)
        return x, up, lo

    def eye_u(self, side, x):
        e = self.style["eye"]
        sg = 1 if side == L else -1
        return (sg * x - e["ex"]) / e["ew"]

    def clamp_in_eye(self, st, side, x, y):
        e = self.style["eye"]
        sg = 1 if side == L else -1
        x = sg * clamp(sg * x, e["ex"] - e["ew"] * 0.98, e["ex"] + e["ew"] * 0.98)
        _, up, lo = self.eye_curves(st, side, self.eye_u(side, x))
        return x, clamp(y, lo, up)

    def disc_in_eye(self, st, side, cx, cy, rx, ry, n, off):
        rows = []
        for i in range(n + 1):
            b = 1 - 2 * i / n
            row = []
            for k in range(n + 1):
                a = -1 + 2 * k / n
                dx, dy = squircle(a, b)
                x, y = self.clamp_in_eye(st, side, cx + dx * rx, cy + dy * ry)
                row.append(self.surf(st, x, y, off))
            rows.append(row)
        return rows

    # -- all features ----------------------------------------------------------------
    def geometry(self, st):
        """Returns list of (part name, material, rings, weight joint, uv fn or None, closed)."""
        e, b, m = self.style["eye"], self.style["brow"], self.style["mouth"]
        feats = []
        cartoon = self.style["name"] == "cartoon"
        # mouth interior: rows from upper edge (v=0) to lower edge (v=1)
        feats.append(("mouth", "mouth", self.mouth_layer(st, -1, 1, 20, 5, lambda u, v, up, lo, s: lerp(up, lo, v),
                                                         0.0008), "head"))
        tongue_h = lambda up, lo, s: min(st["tongue"] * s + 0.0015 * s, 0.55 * (up - lo))
        feats.append(("tongue", "tongue", self.mouth_layer(
            st, -0.62, 0.62, 10, 3,
            lambda u, v, up, lo, s: lo + 0.0002 + v * tongue_h(up, lo, math.sqrt(max(0.0, 1 - (u / 0.62) ** 2)))
            - st["tongue_out"] * math.sqrt(max(0.0, 1 - (u / 0.62) ** 2)) * (1 - v), 0.0012), "head"))
        feats.append(("teeth", "teeth", self.mouth_layer(
            st, -0.78, 0.78, 12, 2, lambda u, v, up, lo, s: up - 0.0001 - v * min(m["teeth"], 0.42 * (up - lo)),
            0.0015), "head"))
        if m["lteeth"]:
            feats.append(("lteeth", "teeth", self.mouth_layer(
                st, -0.6, 0.6, 10, 2, lambda u, v, up, lo, s: lo + 0.0001 + v * min(m["lteeth"], 0.22 * (up - lo)),
                0.0016), "head"))
        if m["lips"]:
            cupid = lambda u: 1 - 0.22 * math.exp(-(u / 0.12) ** 2) + 0.12 * math.exp(-((abs(u) - 0.25) / 0.15) ** 2)
            feats.append(("lipU", "lips", self.mouth_layer(
                st, -1, 1, 24, 3, lambda u, v, up, lo, s: up + v * st["lipU"] * s ** 0.8 * cupid(u), 0.0020), "head"))
            feats.append(("lipL", "lips", self.mouth_layer(
                st, -1, 1, 24, 3, lambda u, v, up, lo, s: lo - v * st["lipL"] * s ** 0.7, 0.0020), "head"))
        for side in (L, R):
            sg = 1 if side == L else -1
            # eye white
            rows = []
            for i in range(6):
                v = i / 5
                row = []
                for k in range(19):
                    u = -1 + 2 * k / 18
                    x, up, lo = self.eye_curves(st, side, u)
                    row.append(self.surf(st, x, lerp(lo, up, v), 0.0008))
                rows.append(row)
            feats.append(("eyewhite_" + side, "eyewhite", rows, "head"))
            # iris and highlights ride on the eye bones (lookAt)
            icx = sg * e["ex"] + st["lookx_" + side] * e["ew"] * 0.35 * sg
            icy = self.ey + e["idy"] + st["looky_" + side] * e["ehu"] * 0.4
            irx, iry = e["irx"] * st["iris_s"], e["iry"] * st["iris_s"]
            feats.append(("iris_" + side, "iris", self.disc_in_eye(st, side, icx, icy, irx, iry, 10, 0.0015),
                          side + "Eye"))
            feats.append(("hl_" + side, "highlight", self.disc_in_eye(
                st, side, icx - 0.38 * irx, icy + 0.40 * iry, 0.30 * irx, 0.30 * irx, 4, 0.0022), side + "Eye"))
            if cartoon:
                feats.append(("hl2_" + side, "highlight", self.disc_in_eye(
                    st, side, icx + 0.30 * irx, icy - 0.42 * iry, 0.13 * irx, 0.13 * irx, 3, 0.0022), side + "Eye"))
            # upper lash line follows the lid and carries a small wing at the outer corner
            rows = []
            for i in range(3):
                v = i / 2
                row = []
                for k in range(21):
                    u = -1 + 2.14 * k / 20
                    x, up, lo = self.eye_curves(st, side, u)
                    if u > 1:
                        x = sg * (e["ex"] + u * e["ew"])
                        up = up + (u - 1) * e["ehu"] * 0.9
                    t = e["lash"] * (0.40 + 0.60 * math.sqrt(max(0.0, 1 - (u / 1.14) ** 2))) * (
                        0.75 if st["open_" + side] < 0.5 else 1.0)
                    if u > 1:
                        t *= max(0.0, 1 - (u - 1) / 0.14) + 0.15
                    row.append(self.surf(st, x, up - 0.0004 + v * t, 0.0028))
                rows.append(row)
            feats.append(("lash_" + side, "lash", rows, "head"))
            if e["lower_lash"]:
                rows = []
                for i in range(2):
                    row = []
                    for k in range(9):
                        u = 0.25 + 0.72 * k / 8
                        x, up, lo = self.eye_curves(st, side, u)
                        t = 0.0007 * math.sin(math.pi * (k / 8)) + 0.0001
                        row.append(self.surf(st, x, lo - i * t, 0.0028))
                    rows.append(row)
                feats.append(("llash_" + side, "lash", rows, "head"))
            # eyebrow
            rows = []
            for i in range(3):
                v = i / 2 - 0.5
                row = []
                for k in range(13):
                    u = -1 + 2 * k / 12
                    x = sg * (b["bx"] + u * b["bw"] + st["brow_x_" + side] * (1 - u) / 2)
                    y = (self.ey + b["dy"] + e["ehu"] + b["arch"] * (1 - u * u) + st["brow_in_" + side] * (1 - u) / 2
                         + st["brow_out_" + side] * (1 + u) / 2)
                    t = b["bt"] * (0.55 + 0.45 * (1 - u) / 2) * math.sqrt(max(0.0, 1 - (0.97 * u) ** 2))
                    row.append(self.surf(st, x, y + v * t, 0.0010))
                rows.append(row)
            feats.append(("brow_" + side, "brow", rows, "head"))
            if self.style["blush"]:
                rows = []
                for i in range(5):
                    row = []
                    for k in range(9):
                        dx, dy = squircle(-1 + 2 * k / 8, 1 - 2 * i / 4)
                        row.append(self.surf(st, sg * (e["ex"] + 0.012) + dx * 0.014, self.ey - 0.030 + dy * 0.0065,
                                             0.0009))
                    rows.append(row)
                feats.append(("blush_" + side, "blush", rows, "head"))
        return feats


# ----------------------------------------------------------------------------- character


class Character:
    def __init__(self, style):
        self.style = style
        self.face = Face(style)
        self.mats = {}
        self.meshes = []  # (mesh name, [Part...], morph target names or None)
        hs = style["head"]
        C = hs["C"]
        e = style["eye"]
        # eye joints sit behind the iris so lookAt rotation sweeps the iris across the eye
        eyez = self.face.hf.at(e["ex"], self.face.ey) - 0.02
        extra = {L + "Eye": (e["ex"], self.face.ey, eyez), R + "Eye": (-e["ex"], self.face.ey, eyez)}
        self.hair_paths = self.make_hair_paths(extra)
        self.skel = build_skeleton(style, extra)
        self.jpos = {n: p for n, _, p in self.skel}
        self.build_body()
        self.build_face()
        self.build_hair()

    # -- helpers --------------------------------------------------------------------
    def J(self, n):
        return self.jpos[n]

    def part(self, parts, mat):
        if mat not in parts:
            parts[mat] = Part(mat)
        return parts[mat]

    # -- body -----------------------------------------------------------------------
    def build_body(self):
        st, J = self.style, self.J
        parts = {}
        top = "blazer" if st["blazer"] else "top"
        # torso: superellipse lathe; shoulders fade into the shoulder bones
        rings, centers = [], []
        for y, rx, rz, zc in st["torso"]:
            c = (0.0, y, zc)
            rings.append(superellipse_ring(c, (1, 0, 0), (0, 0, 1), rx, rz, 32, 2.4))
            centers.append(c)
        jy = [J(n)[1] for n in SPINE]

        sh_j, ua_j = st["joints"]["shoulder"], st["joints"]["upperArm"]
        k_ua = ua_j[0] / 0.105  # shoulder blend distances are authored for the cartoon rig

        def body_w(p):
            return chain_weights(p, [("hips", (0, jy[0] - 0.3, 0)), ("spine", (0, jy[1], 0)), ("chest", (0, jy[2], 0)),
                                     ("upperChest", (0, jy[3], 0)), ("neck", (0, jy[4] + 0.005, 0))],
                                 [0.04, 0.04, 0.04, 0.02])

        def arm_w(p):
            side = L if p[0] > 0 else R
            sg = 1 if p[0] > 0 else -1
            # the blend sits just outboard of the joint: inboard vertices that followed the arm would rise
            # above the shoulder line when the arm comes down
            chain = [(side + "Shoulder", (sg * sh_j[0], sh_j[1], sh_j[2])),
                     (side + "UpperArm", (sg * (ua_j[0] + 0.02 * k_ua), ua_j[1], ua_j[2]))]
            return chain_weights(p, chain, 0.04 * k_ua)

        def torso_w(p):
            # the top of the shoulder follows the upper arm gradually, the side of the chest below the
            # armpit stays with the spine: no fold or crease when the arms come down
            w = body_w(p)
            ax = abs(p[0]) / k_ua
            t = smoothstep(0.035, 0.10, ax) * smoothstep(ua_j[1] - 0.085 * k_ua, ua_j[1] - 0.01 * k_ua, p[1])
            return mix_weights(w, arm_w(p), t) if t > 0 else w

        self.body_w, self.arm_w = body_w, arm_w
        uvscale = lambda i, j, rows, cols: (j / (cols - 1) * 6.0, st["torso"][i][0] * 6.0)
        torso = self.part(parts, top)
        torso.grid(rings, torso_w, inside=centers, uv=uvscale if st["blazer"] else None)
        self.torso_rings = rings
        self.chest_hf = Heightfield(torso.pos, torso.tris, -0.17, 0.17, jy[2] - 0.05, jy[4] + 0.06, 0.0012)
        self.chest_w = torso_w
        # neck
        nr = st["neck_r"]
        rings = [superellipse_ring((0, y, J("neck")[2]), (1, 0, 0), (0, 0, 1), nr[0], nr[1], 20)
                 for y in [nr[2] + (nr[3] - nr[2]) * k / 6 for k in range(7)]]
        self.part(parts, "skin").grid(rings, lambda p: chain_weights(
            p, [("upperChest", (0, nr[2] - 0.1, 0)), ("neck", J("neck")), ("head", J("head"))], [0.03, 0.025]),
            inside=[(0, r[0][1], 0) for r in rings])
        # pelvis (trousers) and legs
        rings, centers = [], []
        for y, rx, rz, zc in st["pelvis"]:
            rings.append(superellipse_ring((0, y, zc), (1, 0, 0), (0, 0, 1), rx, rz, 32, 2.4))
            centers.append((0, y, zc))
        ul = J(L + "UpperLeg")

        def pelvis_w(p):
            w = chain_weights(p, [("hips", (0, jy[0] - 0.3, 0)), ("spine", (0, jy[1], 0))], 0.04)
            t = smoothstep(ul[1] + 0.02, ul[1] - 0.07, p[1]) * smoothstep(0.005, 0.05, abs(p[0]))
            return mix_weights(w, {(L if p[0] > 0 else R) + "UpperLeg": 1.0}, t) if t > 0 else w

        self.part(parts, "trousers").grid(rings, pelvis_w, inside=centers)
        if st["belt"]:
            y0, rx, rz, h = st["belt"]
            prof = [(y0 - h / 2, 0.96), (y0 - h / 2 + 0.002, 1.0), (y0 + h / 2 - 0.002, 1.0), (y0 + h / 2, 0.96)]
            rings = [superellipse_ring((0, y, 0), (1, 0, 0), (0, 0, 1), rx * s, rz * s, 32, 2.4) for y, s in prof]
            self.part(parts, "belt").grid(rings, pelvis_w, inside=[(0, y, 0) for y, _ in prof])
        for side, sg in ((L, 1), (R, -1)):
            cap = side[0].upper() + side[1:]
            ul, ll, ft, to = (J(side + n) for n in ("UpperLeg", "LowerLeg", "Foot", "Toes"))
            chain = [("hips", (ul[0], ul[1] + 0.2, 0)), (side + "UpperLeg", ul), (side + "LowerLeg", ll),
                     (side + "Foot", ft)]
            cs = [(ul[0], y, 0.0) for y, _ in st["leg"]]
            rings = sweep(cs, frames(cs, (1, 0, 0)), [r for _, r in st["leg"]], [r * 1.05 for _, r in st["leg"]], 14)
            self.part(parts, "trousers").grid(rings, lambda p, c=chain: chain_weights(p, c, [0.06, 0.05, 0.03]),
                                              inside=cs)
            # shoe and sole along +Z
            fchain = [(side + "Foot", ft), (side + "Toes", to)]
            sh = st["shoe"]
            cs = [(ul[0], st["sole_h"] + h / 2, z) for z, w, h in sh]
            rings = sweep(cs, frames(cs, (1, 0, 0)), [w for _, w, _ in sh], [h / 2 for _, _, h in sh], 16, 2.6)
            self.part(parts, "shoe").grid(rings, lambda p, c=fchain: chain_weights(p, c, 0.025), inside=cs)
            sh2 = [(sh[0][0] - 0.004, 0.0)] + [(z, w + 0.004) for z, w, _ in sh[1:-1]] + [(sh[-1][0] + 0.004, 0.0)]
            cs = [(ul[0], st["sole_h"] / 2, z) for z, _ in sh2]
            rings = sweep(cs, frames(cs, (1, 0, 0)), [w for _, w in sh2], [st["sole_h"] / 2 + (0.001 if w else 0)
                                                                            for _, w in sh2], 12, 4.0)
            self.part(parts, "sole").grid(rings, lambda p, c=fchain: chain_weights(p, c, 0.025), inside=cs)
            # arm, sleeve, hand, thumb along +-X
            sj, ua, la, hd = (J(side + n) for n in ("Shoulder", "UpperArm", "LowerArm", "Hand"))
            achain = [(side + "Shoulder", sj), (side + "UpperArm", (ua[0] + sg * 0.02 * k_ua, ua[1], ua[2])),
                      (side + "LowerArm", la), (side + "Hand", hd)]
            aw = lambda p, c=achain: chain_weights(p, c, [0.04 * k_ua, 0.045, 0.025])

            def sleeve_w(p, aw=aw):
                t = smoothstep(0.03, 0.085, abs(p[0]) / k_ua)
                return mix_weights(body_w(p), aw(p), t) if t < 1 else aw(p)

            ay, az = ua[1], ua[2]
            if st["arm"]:
                cs = [(sg * x, ay, az) for x, _ in st["arm"]]
                rings = sweep(cs, frames(cs, (0, 1, 0)), [r for _, r in st["arm"]], [r * 1.05 for _, r in st["arm"]], 14)
                self.part(parts, "skin").grid(rings, aw, inside=cs)
            sl = st["sleeve"]
            cs = [(sg * x, ay + 0.002, az) for x, _ in sl]
            rings = sweep(cs, frames(cs, (0, 1, 0)), [r for _, r in sl], [r * 1.05 for _, r in sl], 18)
            self.part(parts, top).grid(rings, sleeve_w, inside=[(sg * (abs(c[0]) - 0.02), c[1], c[2]) for c in cs],
                                       uv=(lambda i, j, rows, cols, sl=sl: (j / (cols - 1) * 2.0, sl[i][0] * 6.0))
                                       if st["blazer"] else None)
            if st["cuff"]:
                x0, x1, r = st["cuff"]
                prof = [(x0, r * 0.9), (x0 + 0.002, r), (x1 - 0.002, r), (x1, r * 0.85)]
                cs = [(sg * x, ay + 0.002, az) for x, _ in prof]
                rings = sweep(cs, frames(cs, (0, 1, 0)), [q for _, q in prof], [q * 1.05 for _, q in prof], 22)
                self.part(parts, "shirt").grid(rings, aw, inside=[(sg * (x0 + x1) / 2, ay, az)] * 4)
            hl = st["hand_len"]
            wx = abs(hd[0]) + 0.005
            prof = [(-0.012, 0.019, 0.016), (0.0, 0.021, 0.017), (0.025, 0.032, 0.015), (0.06, 0.036, 0.014),
                    (0.10, 0.033, 0.012), (0.122, 0.025, 0.009), (0.133, 0.012, 0.005), (0.136, 0.0, 0.0)]
            cs = [(sg * (wx + d * hl), ay - 0.002, az + 0.002) for d, _, _ in prof]
            rings = sweep(cs, frames(cs, (0, 0, 1)), [rz * hl ** 0.5 for _, rz, _ in prof],
                          [ry * hl ** 0.5 for _, _, ry in prof], 12, 2.4)
            self.part(parts, "skin").grid(rings, aw, inside=cs)
            tp = [(sg * (wx + 0.012 * hl), ay - 0.004, az + 0.012), (sg * (wx + 0.035 * hl), ay - 0.008, az + 0.034),
                  (sg * (wx + 0.058 * hl), ay - 0.010, az + 0.048), (sg * (wx + 0.070 * hl), ay - 0.010, az + 0.053)]
            cs = spline(tp, 8)
            rr = [0.011, 0.0105, 0.0095, 0.009, 0.0085, 0.008, 0.006, 0.0]
            rings = sweep(cs, frames(cs, (0, 1, 0)), [r * hl ** 0.5 for r in rr], [r * 0.9 * hl ** 0.5 for r in rr], 10)
            self.part(parts, "skin").grid(rings, aw, inside=cs)
        if st["collar"]:
            self.build_collar(parts)
        if st["blazer"]:
            self.build_shirt_collar(parts)
        self.build_chest_decals(parts)
        meshes = [parts[k] for k in ("skin", top, "shirt", "lapel", "button", "collar", "trousers", "belt", "shoe", "sole")
                  if k in parts]
        self.meshes.append(("Body", meshes, None))
        self.body_parts = parts

    def torso_point(self, a, rho, zaxis):
        """Point on the torso lathe at ring angle index `a` (radians) whose distance from the
        neck axis is rho, searched from the neck downwards."""
        rings = self.torso_rings
        n = len(rings[0])
        k = a / (2 * math.pi) * n
        k0, t = int(math.floor(k)) % n, k - math.floor(k)
        pts = [vlerp(r[k0], r[(k0 + 1) % n], t) for r in rings]
        dist = [math.hypot(p[0], p[2] - zaxis) for p in pts]
        for i in range(len(pts) - 1, 0, -1):
            if dist[i] <= rho <= dist[i - 1] or dist[i - 1] <= rho <= dist[i]:
                f = (rho - dist[i]) / (dist[i - 1] - dist[i] + 1e-12)
                return vlerp(pts[i], pts[i - 1], f)
        return pts[0]

    def build_collar(self, parts):
        # Peter Pan collar: two rounded flaps lying on the shoulders, open at the front
        J = self.J
        zaxis = J("neck")[2]
        rho_in = self.style["neck_r"][0] + 0.005
        n, gap = 28, 14.0
        rings = []
        for k in range(n + 1):
            deg = gap + (360 - 2 * gap) * k / n
            a = math.radians(deg)
            # ring angle index 0 is +X; our collar angle 0 is the front (+Z)
            ra = (math.pi / 2 - a) % (2 * math.pi)
            u = min(deg - gap, 360 - gap - deg)
            w = 0.026 * math.sqrt(min(1.0, u / 22.0)) + 0.001
            cs = []
            for i in range(5):
                rho = rho_in + w * i / 4
                p = self.torso_point(ra, rho, zaxis)
                out = norm((p[0], 0.0, p[2] - zaxis))
                nrm = norm(add(mul(out, 0.45), (0, 1, 0)))
                cs.append(add(p, mul(nrm, 0.0045 - 0.0015 * (i / 4))))
            for i in range(4, -1, -1):
                p = self.torso_point(ra, rho_in + w * i / 4, zaxis)
                cs.append(add(p, (0, -0.001, 0)))
            rings.append(cs[:-1])
        jy = [J(n_)[1] for n_ in SPINE]
        wfn = lambda p: chain_weights(p, [("upperChest", (0, jy[3], 0)), ("neck", J("neck"))], 0.02)
        self.part(parts, "collar").grid(rings, wfn, inside=[(0, r[0][1] - 0.02, zaxis) for r in rings])

    def build_shirt_collar(self, parts):
        # stand collar of the shirt around the neck base, open at the front
        J = self.J
        zaxis = J("neck")[2]
        nr = self.style["neck_r"]
        n, gap = 30, 24.0
        y0 = self.torso_point(math.pi / 2, nr[0] + 0.006, zaxis)[1] - 0.004
        rings = []
        for k in range(n + 1):
            deg = gap + (360 - 2 * gap) * k / n
            a = math.radians(deg)
            u = min(deg - gap, 360 - gap - deg)
            h = 0.030 - 0.010 * math.cos(a) ** 2 * (1 if math.cos(a) > 0 else 0.3) - 0.006 * (1 - min(1.0, u / 18.0))
            prof = [(0.0, 0.0075), (h - 0.003, 0.0065), (h, 0.0040), (h, 0.0015), (0.0, 0.0015)]
            ring = []
            for dy, dr in prof:
                ring.append((math.sin(a) * (nr[0] + dr + 0.002 * (1 - dy / 0.03)), y0 + dy + 0.004 * (1 - math.cos(a)),
                             zaxis + math.cos(a) * (nr[1] + dr + 0.002 * (1 - dy / 0.03))))
            rings.append(ring)
        jy = [J(n_)[1] for n_ in SPINE]
        wfn = lambda p: chain_weights(p, [("upperChest", (0, jy[3], 0)), ("neck", J("neck"))], 0.02)
        self.part(parts, "shirt").grid(rings, wfn, closed=False, inside=[(0, r[0][1], zaxis) for r in rings])

    def chest_decal(self, parts, mat, rows, off):
        pts = [[(x, y, self.chest_hf.at(x, y) + off) for x, y in row] for row in rows]
        self.part(parts, mat).grid(pts, self.chest_w, closed=False, facing=(0, 0, 1))

    def build_chest_decals(self, parts):
        st = self.style
        if st["blazer"]:
            # open blazer front: shirt V, lapels along its edges and two buttons
            y0, y1 = 1.165, st.get("lapel_top", st["torso"][-4][0])
            half = lambda y: 0.004 + 0.058 * max(0.0, (y - y0) / (y1 - y0)) ** 0.9
            self.chest_decal(parts, "shirt", [[(lerp(-half(y), half(y), i / 6), y) for i in range(7)]
                                              for y in [lerp(y0, y1, k / 8) for k in range(9)]], 0.0012)
            for sg in (1, -1):
                rows = []
                for k in range(11):
                    y = lerp(y0 - 0.005, y1, k / 10)
                    w = 0.006 + 0.028 * math.sin(math.pi * min(1.0, (y - y0) / (y1 - y0) * 1.15) * 0.85)
                    rows.append([(sg * (half(y) + w * i / 3), y) for i in range(4)])
                self.chest_decal(parts, "lapel", rows, 0.0018)
            for yb in (y0 - 0.035, y0 - 0.11):
                self.chest_decal(parts, "button", [[(0.0075 * squircle(-1 + 2 * i / 4, 1 - 2 * k / 4)[0],
                                                     yb + 0.0075 * squircle(-1 + 2 * i / 4, 1 - 2 * k / 4)[1])
                                                    for i in range(5)] for k in range(5)], 0.0016)
        else:
            # shop staff name badge on the left chest
            cx, cy = 0.058, self.J("upperChest")[1] + 0.02
            self.chest_decal(parts, "collar", [[(cx + 0.027 * (-1 + 2 * i / 6), cy + 0.010 * (-1 + 2 * k / 3))
                                                for i in range(7)] for k in range(4)], 0.0015)
            self.chest_decal(parts, "sole", [[(cx + 0.027 * (-1 + 2 * i / 6), cy + 0.010 - 0.006 * k / 1)
                                              for i in range(7)] for k in range(2)], 0.0020)

    # -- face -----------------------------------------------------------------------
    def build_face(self):
        f = self.face
        parts = {}
        f.head.material = "skin"
        parts["skin"] = f.head
        if self.style["head"]["ears"]:
            hs = self.style["head"]
            for sg in (1, -1):
                c = (sg * hs["a"] * 0.93, hs["C"][1] - 0.012, hs["C"][2] - 0.012)
                rings = []
                for i in range(9):
                    th = math.pi * i / 8
                    rings.append([add(c, (sg * 0.010 * math.sin(th) * math.cos(2 * math.pi * k / 12) + sg * 0.004,
                                          0.029 * math.cos(th), 0.017 * math.sin(th) * math.sin(2 * math.pi * k / 12)))
                                  for k in range(12)])
                f.head.grid(rings, rigid("head"), inside=c)
        self.head_skin_count = len(f.head.pos)
        self.face_layout = []  # (part material, vertex range) in build order
        neutral = f.geometry(f.defaults)
        for name, mat, rows, joint in neutral:
            p = self.part(parts, mat)
            uvfn = None
            if mat in ("iris", "highlight"):
                uvfn = lambda i, j, rows_, cols: (j / (cols - 1), i / (rows_ - 1))
            start = len(p.pos)
            p.grid(rows, rigid(joint), closed=False, facing=(0, 0, 1), uv=uvfn, skip_degenerate=False)
            self.face_layout.append((name, mat, start, len(p.pos)))
        order = ["skin", "eyewhite", "mouth", "tongue", "teeth", "lips", "iris", "brow", "lash", "highlight", "blush"]
        self.face_parts = parts
        self.meshes.append(("Face", [parts[k] for k in order if k in parts], "face"))

    def face_targets(self, defs):
        """defs: [(target name, state)] -> per part list of deltas, in face part order."""
        f = self.face
        names = [n for n, _ in defs]
        out = {m: [] for m in self.face_parts}
        for tname, st in defs:
            geo = {name: rows for name, mat, rows, joint in f.geometry(st)}
            per = {m: [(0.0, 0.0, 0.0)] * len(p.pos) for m, p in self.face_parts.items()}
            skin = f.skin_positions(st)
            d = per["skin"] = list(per["skin"])
            for i, q in enumerate(skin):
                d[i] = sub(q, f.head_neutral[i])
            for name, mat, start, end in self.face_layout:
                rows = geo[name]
                flat = [p for row in rows for p in row]
                base = self.face_parts[mat].pos
                arr = per[mat] = list(per[mat]) if per[mat] is not None else per[mat]
                for k, p in enumerate(flat):
                    arr[start + k] = sub(p, base[start + k])
            for m in out:
                out[m].append(per[m])
        return names, out

    # -- hair -----------------------------------------------------------------------
    def hair_surface(self, theta_deg, phi_deg, off):
        hs = self.style["head"]
        d = sphere_dir(math.radians(theta_deg), math.radians(phi_deg))
        p = head_point(hs, d)
        r = sub(p, hs["C"])
        top = self.style["hair"]["top"] * max(0.0, d[1]) ** 2
        return add(p, mul(norm(r), off + top))

    def make_hair_paths(self, extra):
        h = self.style["hair"]
        C = self.style["head"]["C"]
        paths = {}
        t = h["tail"]
        base = self.hair_surface(t["theta"], 180, h["off"] + 0.004)
        pts = [add(base, q) for q in t["pts"]]
        path = spline(pts, 20)
        paths["tail"] = path
        for k, frac in enumerate(t["joints"]):
            extra[HAIR_CHAINS["tail"][k]] = path[int(round(frac * (len(path) - 1)))]
        lk = h["lock"]
        for side, sg in ((L, 1), (R, -1)):
            p0 = self.hair_surface(50, sg * (lk["phi"] - 14), h["off"] * 0.5)
            p1 = self.hair_surface(86, sg * lk["phi"], h["off"] + 0.004)
            p2 = (p1[0] * 0.97, p1[1] - lk["len"] * 0.35, p1[2] + 0.008)
            p3 = (p1[0] * 0.90, p1[1] - lk["len"] * 0.72, p1[2] + 0.016)
            p4 = (p1[0] * 0.85, p1[1] - lk["len"], p1[2] + 0.020)
            path = spline([p0, p1, p2, p3, p4], 16)
            paths["lock" + side[0].upper()] = path
            names = HAIR_CHAINS["lock" + side[0].upper()]
            for k, frac in enumerate((0.25, 0.55, 0.85)):
                extra[names[k]] = path[int(round(frac * (len(path) - 1)))]
        return paths

    def build_hair(self):
        h, hs, C = self.style["hair"], self.style["head"], self.style["head"]["C"]
        parts = {}
        hair = self.part(parts, "hair")
        # cap: rows go from the crown to a hairline whose height depends on the azimuth
        bob = h.get("bob")
        cols, rows = 36, (bob["rows"] if bob else 12)
        rings, inside = [], []
        for i in range(rows + 1):
            t = i / rows
            ring = []
            for k in range(cols):
                phi = 360.0 * k / cols
                c = (1 + math.cos(math.radians(phi))) / 2  # 1 front, 0 back
                side = abs(math.sin(math.radians(phi)))
                tmax = h["theta_back"] * (1 - c) + h["theta_front"] * c
                tmax += (h["theta_side"] - tmax) * side ** 4
                th = t * tmax
                if not bob:
                    off = h["off"] * (1.0 if i < rows else 0.25)
                    ring.append(self.hair_surface(th, phi, off))
                    continue
                vol = lambda a: h["off"] + bob["vol"] * smoothstep(0.0, 70.0, a) * (1 - 0.5 * c)
                hang = bob["hang"]
                if th <= hang or tmax <= hang:
                    ring.append(self.hair_surface(th, phi, vol(th) * (1.0 if (i < rows or th > 70) else 0.25)))
                    continue
                # straight fall: keep the horizontal radius of the hang line, curl the ends in a little
                kk = (th - hang) / (tmax - hang)
                p = self.hair_surface(th, phi, vol(th))
                q = self.hair_surface(hang, phi, vol(hang))
                rp = math.hypot(p[0] - C[0], p[2] - C[2])
                rq = math.hypot(q[0] - C[0], q[2] - C[2])
                sc = max(rp, rq * (1 - bob["curl"] * kk ** 2)) / max(rp, 1e-6)
                ring.append((C[0] + (p[0] - C[0]) * sc, p[1] - bob["drop"] * kk, C[2] + (p[2] - C[2]) * sc))
            rings.append(ring)
            inside.append((C[0], min(C[1], ring[0][1]), C[2]))
        hair.grid(rings, rigid("head"), inside=inside)
        # bangs: tapered flat strands laid over the forehead
        for phi0, phi1, tip, w in h["bangs"]:
            n = 12
            path = []
            for k in range(n):
                t = k / (n - 1)
                th = lerp(h["bang_root"], tip, t)
                ph = lerp(phi0, phi1, t ** 1.5)
                # strands rise off the cap, then settle onto the forehead
                off = h["off"] * (0.1 + 1.4 * h["bang_lift"] * math.sin(math.pi * min(t, 0.9)) ** 0.6) + 0.002 * t
                path.append(self.hair_surface(th, ph, off))
            fr = frames(path, lambda i, p=path: norm(sub(p[i], C)))
            # narrow roots keep neighbouring strands from crossing at the crown
            widths = [w * min(1.0, (k / (n - 1) + 0.12) / 0.45) ** 0.8 * (1 - (k / (n - 1)) ** 2.2) ** 0.7 + 0.0005
                      for k in range(n)]
            thick = [0.0045 * (1 - (k / (n - 1)) ** 3) + 0.0006 for k in range(n)]
            # e1 is the outward normal: thickness along it, width along e2
            rings = sweep(path, fr, thick, widths, 6)
            hair.grid(rings, rigid("head"), inside=path)
        # side locks and ponytail: tubes skinned along their hair joints
        for key in ("lockL", "lockR", "tail"):
            path = self.hair_paths[key]
            names = HAIR_CHAINS[key]
            n = len(path)
            root = sub(path[0], mul(norm(sub(path[1], path[0])), 0.03))  # head owns the root region
            chain = [("head", root)] + [(nm, self.J(nm)) for nm in names]
            if key == "tail":
                rad = self.style["hair"]["tail"]["radius"]
                rs = [self.interp_profile(rad, k / (n - 1)) for k in range(n)]
                fr = frames(path, (1, 0, 0))
                rings = sweep(path, fr, [r * 1.1 for r in rs], [r * 0.9 for r in rs], 14)
            else:
                lk = h["lock"]
                sg = 1 if key == "lockL" else -1
                fr = frames(path, (0.35 * sg, 0.0, 1.0))  # flat side faces forwards, framing the face
                tt = [k / (n - 1) for k in range(n)]
                rings = sweep(path, fr, [lk["th"] * (1 - t ** 3) * 0.5 + 0.0005 for t in tt],
                              [lk["w"] * (0.6 + 0.4 * math.sin(math.pi * min(t * 1.6, 1.0) / 2)) * (1 - t ** 2.5) ** 0.6
                               + 0.0005 for t in tt], 10)
            hair.grid(rings, lambda p, c=chain: chain_weights(p, c, 0.03), inside=path)
        # hair tie around the ponytail root
        path = self.hair_paths["tail"]
        b, tdir = path[1], norm(sub(path[2], path[0]))
        e1 = norm(cross(tdir, (1, 0, 0)))
        e2 = cross(tdir, e1)
        r0 = self.style["hair"]["tail"]["radius"][0] * 1.25
        m = 16
        ring_c = [add(b, add(mul(e1, r0 * math.cos(2 * math.pi * k / m)), mul(e2, r0 * math.sin(2 * math.pi * k / m))))
                  for k in range(m)]
        ring_c.append(ring_c[0])
        fr = frames(ring_c, lambda i: norm(sub(ring_c[i], b)))
        fr[-1] = fr[0]
        rings = sweep(ring_c, fr, [0.006] * (m + 1), [0.008] * (m + 1), 6)
        self.part(parts, "tie").grid(rings, rigid("hairTail1"), closed=True, inside=ring_c)
        self.meshes.append(("Hair", [parts["hair"], parts["tie"]], None))

    @staticmethod
    def interp_profile(vals, t):
        g = t * (len(vals) - 1)
        i = min(int(g), len(vals) - 2)
        return lerp(vals[i], vals[i + 1], g - i)


# ----------------------------------------------------------------------------- materials

TOON_MATS = {  # name: (base sRGB, shade sRGB, alpha mode, double sided, outline, texture)
    "skin": ((1.00, 0.88, 0.80), (0.95, 0.70, 0.64), "OPAQUE", False, True, None),
    "top": ((0.20, 0.66, 0.62), (0.10, 0.40, 0.46), "OPAQUE", False, True, None),
    "collar": ((0.98, 0.97, 0.94), (0.78, 0.80, 0.86), "OPAQUE", False, True, None),
    "trousers": ((0.19, 0.21, 0.31), (0.10, 0.10, 0.19), "OPAQUE", False, True, None),
    "belt": ((0.46, 0.30, 0.20), (0.30, 0.18, 0.13), "OPAQUE", False, True, None),
    "shoe": ((0.98, 0.97, 0.96), (0.78, 0.78, 0.84), "OPAQUE", False, True, None),
    "sole": ((0.93, 0.48, 0.42), (0.72, 0.32, 0.32), "OPAQUE", False, True, None),
    "hair": ((0.58, 0.34, 0.22), (0.36, 0.18, 0.14), "OPAQUE", True, True, None),
    "tie": ((0.95, 0.50, 0.45), (0.74, 0.32, 0.34), "OPAQUE", False, True, None),
    "eyewhite": ((1.0, 1.0, 1.0), (0.90, 0.90, 0.96), "OPAQUE", False, False, None),
    "iris": ((1.0, 1.0, 1.0), (0.85, 0.85, 0.9), "OPAQUE", False, False, "iris"),
    "highlight": ((1.0, 1.0, 1.0), (1.0, 1.0, 1.0), "MASK", False, False, "highlight"),
    "lash": ((0.20, 0.11, 0.10), (0.16, 0.08, 0.08), "OPAQUE", False, False, None),
    "brow": ((0.42, 0.23, 0.16), (0.34, 0.17, 0.13), "OPAQUE", False, False, None),
    "mouth": ((0.55, 0.20, 0.22), (0.45, 0.15, 0.18), "OPAQUE", False, False, None),
    "tongue": ((0.93, 0.50, 0.52), (0.80, 0.40, 0.44), "OPAQUE", False, False, None),
    "teeth": ((1.0, 1.0, 1.0), (0.92, 0.92, 0.96), "OPAQUE", False, False, None),
    "blush": ((1.0, 0.55, 0.55), (1.0, 0.50, 0.50), "BLEND", False, False, None),
}

PBR_MATS = {  # name: (base sRGB, roughness, alpha mode, double sided, base texture, normal texture)
    "skin": ((0.86, 0.67, 0.56), 0.6, "OPAQUE", False, None, None),
    "blazer": ((0.24, 0.27, 0.36), 0.85, "OPAQUE", False, "fabric", "fabric_n"),
    "shirt": ((0.94, 0.94, 0.92), 0.7, "OPAQUE", False, None, None),
    "lapel": ((0.13, 0.145, 0.20), 0.5, "OPAQUE", False, None, None),
    "button": ((0.08, 0.08, 0.09), 0.3, "OPAQUE", False, None, None),
    "trousers": ((0.17, 0.17, 0.19), 0.8, "OPAQUE", False, None, None),
    "shoe": ((0.24, 0.15, 0.10), 0.45, "OPAQUE", False, None, None),
    "sole": ((0.12, 0.10, 0.09), 0.7, "OPAQUE", False, None, None),
    "hair": ((0.14, 0.09, 0.07), 0.55, "OPAQUE", True, None, None),
    "tie": ((0.10, 0.08, 0.07), 0.5, "OPAQUE", False, None, None),
    "eyewhite": ((0.93, 0.91, 0.89), 0.3, "OPAQUE", False, None, None),
    "iris": ((1.0, 1.0, 1.0), 0.2, "OPAQUE", False, "iris", None),
    "highlight": ((1.0, 1.0, 1.0), 0.1, "MASK", False, "highlight", None),
    "lash": ((0.08, 0.06, 0.05), 0.8, "OPAQUE", False, None, None),
    "brow": ((0.22, 0.15, 0.12), 0.9, "OPAQUE", False, None, None),
    "mouth": ((0.30, 0.10, 0.11), 0.6, "OPAQUE", False, None, None),
    "tongue": ((0.78, 0.42, 0.42), 0.5, "OPAQUE", False, None, None),
    "teeth": ((0.95, 0.94, 0.90), 0.35, "OPAQUE", False, None, None),
    "lips": ((0.74, 0.47, 0.46), 0.45, "OPAQUE", False, None, None),
}


# ----------------------------------------------------------------------------- expressions

def toon_targets(face):
    s, d = face.state, face.delta_state
    return [
        ("aa", s(W=0.0172, Hu=0.0026, Hl=0.0160, C=0.0010, tongue=0.004, ku=2.2, kl=0.8)),
        ("ih", s(W=0.0175, Hu=0.0018, Hl=0.0065, C=0.0022, tongue=0.002, ku=2.0, kl=0.9)),
        ("ou", s(W=0.0058, Hu=0.0034, Hl=0.0048, C=0.0, ku=1.0, kl=1.0, push=0.0015)),
        ("ee", s(W=0.0185, Hu=0.0012, Hl=0.0034, C=0.0028, ku=2.0, kl=1.1)),
        ("oh", s(W=0.0095, Hu=0.0040, Hl=0.0095, C=0.0, ku=1.1, kl=0.9, tongue=0.002)),
        ("blinkLeft", s(open_left=0.0)),
        ("blinkRight", s(open_right=0.0)),
        ("happy", s(open=0.0, arch=1.0, W=0.0170, Hu=0.0012, Hl=0.0075, C=0.0048, ku=2.2, kl=0.8, tongue=0.002,
                    brow_in=0.002, brow_out=0.001)),
        ("angry", s(tilt_in=0.9, open=0.9, brow_in=-0.0045, brow_out=0.0015, brow_x=-0.002, W=0.0110, C=-0.0030,
                    Hl=0.0012)),
        ("sad", s(tilt_out=0.8, open=0.85, brow_in=0.005, brow_out=-0.002, W=0.0100, C=-0.0025, Hl=0.0012)),
        ("relaxed", s(open=0.42, arch=-0.3, C=0.0034, W=0.0135, brow_in=0.001)),
        ("surprised", s(open=1.22, iris_s=0.82, brow_in=0.0065, brow_out=0.0055, W=0.0060, Hu=0.0032, Hl=0.0055,
                        C=0.0, ku=1.0, kl=1.0)),
    ]


VRM1_EXPRESSIONS = [  # preset, [(target, weight)]
    ("aa", [("aa", 1.0)]), ("ih", [("ih", 1.0)]), ("ou", [("ou", 1.0)]), ("ee", [("ee", 1.0)]), ("oh", [("oh", 1.0)]),
    ("blink", [("blinkLeft", 1.0), ("blinkRight", 1.0)]), ("blinkLeft", [("blinkLeft", 1.0)]),
    ("blinkRight", [("blinkRight", 1.0)]), ("happy", [("happy", 1.0)]), ("angry", [("angry", 1.0)]),
    ("sad", [("sad", 1.0)]), ("relaxed", [("relaxed", 1.0)]), ("surprised", [("surprised", 1.0)]), ("neutral", []),
]
VRM0_PRESETS = {"aa": "a", "ih": "i", "ou": "u", "ee": "e", "oh": "o", "blink": "blink", "blinkLeft": "blink_l",
                "blinkRight": "blink_r", "happy": "joy", "angry": "angry", "sad": "sorrow", "relaxed": "fun",
                "surprised": "unknown", "neutral": "neutral"}


def arkit_targets(face):
    s, d = face.state, face.delta_state
    n = face.defaults
    W, Hl = n["W_left"], n["Hl_left"]
    t = []

    def side(name, **kw):
        # one-sided shapes; parameters without a per-side variant get half the amount
        for sd, tag in ((L, "Left"), (R, "Right")):
            t.append((name + tag, d(**{(k + "_" + sd if k + "_" + sd in n else k): (v if k + "_" + sd in n else v / 2)
                                       for k, v in kw.items()})))

    # eyes
    side("eyeBlink", open=-1.0)
    t += [(f"eyeLook{dirn}{tag}", d(**{f"look{axis}_{sd}": val}))
          for dirn, axis, val in (("Down", "y", -1.0), ("In", "x", -1.0), ("Out", "x", 1.0), ("Up", "y", 1.0))
          for sd, tag in ((L, "Left"), (R, "Right"))]
    side("eyeSquint", squint=0.8)
    side("eyeWide", open=0.25)
    # jaw and mouth
    t.append(("jawForward", d(push=0.003)))
    t.append(("jawLeft", d(shift=0.004)))
    t.append(("jawRight", d(shift=-0.004)))
    t.append(("jawOpen", d(Hl=0.014, Hu=0.002, jaw=0.006, tongue=0.003)))
    t.append(("mouthClose", d(lipU=0.0008, lipL=0.0008, Hu=-0.0002, Hl=-0.0002)))
    t.append(("mouthFunnel", d(W=-0.011, Hu=0.004, Hl=0.005, lipU=0.001, lipL=0.001, push=0.004, ku=-0.2)))
    t.append(("mouthPucker", d(W=-0.012, lipU=0.0015, lipL=0.001, push=0.005)))
    t.append(("mouthLeft", d(shift=0.006)))
    t.append(("mouthRight", d(shift=-0.006)))
    side("mouthSmile", C=0.006, W=0.004)
    side("mouthFrown", C=-0.004)
    side("mouthDimple", W=0.003)
    side("mouthStretch", W=0.005, C=-0.002, Hl=0.002)
    t.append(("mouthRollLower", d(lipL=-0.0045)))
    t.append(("mouthRollUpper", d(lipU=-0.0035)))
    t.append(("mouthShrugLower", d(lipL=0.0012, mdy=0.001)))
    t.append(("mouthShrugUpper", d(lipU=0.001, mdy=0.0015)))
    side("mouthPress", lipU=-0.001, lipL=-0.0015)
    side("mouthLowerDown", Hl=0.005)
    side("mouthUpperUp", Hu=0.004)
    # brows, cheeks, nose
    t.append(("browInnerUp", d(brow_in=0.006)))
    side("browDown", brow_in=-0.004, brow_out=-0.002, brow_x=-0.0015)
    side("browOuterUp", brow_out=0.006)
    t.append(("cheekPuff", d(cheek_puff=0.006)))
    side("cheekSquint", squint=0.35)
    side("noseSneer", Hu=0.0015, brow_in=-0.0015)
    t.append(("tongueOut", d(Hl=0.006, Hu=0.001, tongue=0.004, tongue_out=0.008)))
    # Oculus visemes
    vis = [
        ("viseme_sil", d()),
        ("viseme_PP", d(lipU=-0.001, lipL=-0.0015, W=-0.002)),
        ("viseme_FF", d(Hu=0.002, Hl=0.0015, lipL=-0.002, mdy=0.001)),
        ("viseme_TH", d(Hu=0.002, Hl=0.004, tongue=0.004, tongue_out=0.002)),
        ("viseme_DD", d(Hu=0.002, Hl=0.005, W=0.001, tongue=0.002)),
        ("viseme_kk", d(Hu=0.002, Hl=0.006, W=0.001, tongue=0.003)),
        ("viseme_CH", d(Hu=0.0025, Hl=0.003, W=-0.004, push=0.003)),
        ("viseme_SS", d(Hu=0.002, Hl=0.002, W=0.003, C=0.001)),
        ("viseme_nn", d(Hu=0.0015, Hl=0.003, tongue=0.002)),
        ("viseme_RR", d(Hu=0.003, Hl=0.004, W=-0.006, push=0.002)),
        ("viseme_aa", d(Hu=0.003, Hl=0.013, W=0.001, jaw=0.006, tongue=0.003)),
        ("viseme_E", d(Hu=0.0025, Hl=0.007, W=0.004, jaw=0.002, C=0.001)),
        ("viseme_I", d(Hu=0.002, Hl=0.004, W=0.005, C=0.0015)),
        ("viseme_O", d(Hu=0.004, Hl=0.008, W=-0.009, push=0.003, jaw=0.003)),
        ("viseme_U", d(Hu=0.003, Hl=0.004, W=-0.012, push=0.005)),
    ]
    return t + vis


# ----------------------------------------------------------------------------- glTF writer


class Gltf:
    def __init__(self):
        self.bin = bytearray()
        self.j = {"asset": {"version": "2.0", "generator": "avatarcast make-3d-hosts.py"}, "scene": 0, "scenes": [],
                  "nodes": [], "meshes": [], "materials": [], "accessors": [], "bufferViews": [], "buffers": []}
        self.images = {}

    def view(self, data, target=None):
        while len(self.bin) % 4:
            self.bin.append(0)
        bv = {"buffer": 0, "byteOffset": len(self.bin), "byteLength": len(data)}
        if target:
            bv["target"] = target
        self.bin.extend(data)
        self.j["bufferViews"].append(bv)
        return len(self.j["bufferViews"]) - 1

    def accessor(self, acc):
        self.j["accessors"].append(acc)
        return len(self.j["accessors"]) - 1

    def vec(self, vals, typ, target=34962, minmax=False):
        n = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT4": 16}[typ]
        flat = [f32(c) for v in vals for c in v]
        acc = {"bufferView": self.view(struct.pack("<%df" % len(flat), *flat), target), "componentType": 5126,
               "count": len(vals), "type": typ}
        if minmax:
            acc["min"] = [min(flat[i::n]) for i in range(n)]
            acc["max"] = [max(flat[i::n]) for i in range(n)]
        return self.accessor(acc)

    def morph(self, deltas):
        """Morph POSITION deltas: all-zero -> accessor without data, few -> sparse, else dense."""
        deltas = [tuple(f32(c) for c in v) if any(abs(c) > 1e-7 for c in v) else (0.0, 0.0, 0.0) for v in deltas]
        nz = [i for i, v in enumerate(deltas) if v != (0.0, 0.0, 0.0)]
        acc = {"componentType": 5126, "count": len(deltas), "type": "VEC3",
               "min": [min(v[c] for v in deltas) for c in range(3)],
               "max": [max(v[c] for v in deltas) for c in range(3)]}
        if not nz:
            return self.accessor(acc)  # no bufferView: all zeros by definition
        if len(nz) * 2 < len(deltas):
            big = len(deltas) > 65535
            vals = [c for i in nz for c in deltas[i]]
            acc["sparse"] = {"count": len(nz),
                             "indices": {"bufferView": self.view(struct.pack("<%d%s" % (len(nz), "I" if big else "H"), *nz)),
                                         "componentType": 5125 if big else 5123},
                             "values": {"bufferView": self.view(struct.pack("<%df" % len(vals), *vals))}}
            return self.accessor(acc)
        flat = [c for v in deltas for c in v]
        acc["bufferView"] = self.view(struct.pack("<%df" % len(flat), *flat), 34962)
        return self.accessor(dict([("bufferView", acc.pop("bufferView"))] + list(acc.items())))

    def image(self, key, data):
        if key not in self.images:
            self.j.setdefault("images", []).append({"bufferView": self.view(data), "mimeType": "image/png",
                                                    "name": key})
            self.j.setdefault("samplers", [{"magFilter": 9729, "minFilter": 9987, "wrapS": 10497, "wrapT": 10497}])
            self.j.setdefault("textures", []).append({"sampler": 0, "source": len(self.j["images"]) - 1})
            self.images[key] = len(self.j["textures"]) - 1
        return self.images[key]

    def glb(self):
        self.j["buffers"] = [{"byteLength": len(self.bin)}]
        js = json.dumps(self.j, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        js += b" " * (-len(js) % 4)
        b = bytes(self.bin) + b"\x00" * (-len(self.bin) % 4)
        total = 12 + 8 + len(js) + 8 + len(b)
        return (struct.pack("<4sII", b"glTF", 2, total) + struct.pack("<I4s", len(js), b"JSON") + js
                + struct.pack("<I4s", len(b), b"BIN\x00") + b)


def quantize_weights(w, jindex):
    items = sorted(w.items(), key=lambda kv: (-kv[1], jindex[kv[0]]))[:4]
    tot = sum(v for _, v in items)
    q = [int(round(v / tot * 1024)) for _, v in items]
    q[0] += 1024 - sum(q)  # exact binary fractions, so float32 weights sum to exactly 1
    pairs = [(jindex[k], qv / 1024.0) for (k, _), qv in zip(items, q) if qv > 0]
    while len(pairs) < 4:
        pairs.append((0, 0.0))  # unused slots: joint 0 with zero weight, as validators expect
    return [p[0] for p in pairs], [p[1] for p in pairs]


def tangents(pos, nrm, uv, tris):
    """Per-vertex MikkTSpace-like tangents (accumulated, Gram-Schmidt, handedness in w)."""
    tan = [(0.0, 0.0, 0.0)] * len(pos)
    bit = [(0.0, 0.0, 0.0)] * len(pos)
    for a, b, c in tris:
        e1, e2 = sub(pos[b], pos[a]), sub(pos[c], pos[a])
        du1, dv1 = uv[b][0] - uv[a][0], uv[b][1] - uv[a][1]
        du2, dv2 = uv[c][0] - uv[a][0], uv[c][1] - uv[a][1]
        det = du1 * dv2 - du2 * dv1
        if abs(det) < 1e-12:
            continue
        r = 1.0 / det
        t = mul(sub(mul(e1, dv2), mul(e2, dv1)), r)
        bt = mul(sub(mul(e2, du1), mul(e1, du2)), r)
        for k in (a, b, c):
            tan[k] = add(tan[k], t)
            bit[k] = add(bit[k], bt)
    out = []
    for t, bt, n in zip(tan, bit, nrm):
        t = norm(sub(t, mul(n, dot(n, t))))
        if t == (0.0, 0.0, 0.0):
            t = norm(cross(n, (0.0, 1.0, 0.0))) if abs(n[1]) < 0.99 else (1.0, 0.0, 0.0)
        w = -1.0 if dot(cross(n, t), bt) < 0 else 1.0
        out.append((t[0], t[1], t[2], w))
    return out


def rot_y180(p):
    return (-p[0], p[1], -p[2])


def export(ch, fmt, names, usage, textures):
    """fmt: 'vrm1', 'vrm0' or 'arkit'. names maps internal joint names to node names."""
    g = Gltf()
    flip = rot_y180 if fmt == "vrm0" else (lambda p: p)
    toon = fmt != "arkit"
    # nodes: Root, skeleton (in build order), then mesh nodes
    nodes = g.j["nodes"]
    nodes.append({"name": "Root", "children": []})
    nidx = {}
    for name, parent, pos in ch.skel:
        nidx[name] = len(nodes)
        pp = ch.jpos[parent] if parent else (0.0, 0.0, 0.0)
        t = sub(flip(pos), flip(pp))
        nodes.append({"name": names.get(name, name), "translation": [round(c, 6) for c in t]})
        if parent:
            nodes[nidx[parent]].setdefault("children", []).append(nidx[name])
        else:
            nodes[0]["children"].append(nidx[name])
    # node translations are rounded, so bind matrices follow the rounded globals
    gpos = {}
    for name, parent, pos in ch.skel:
        t = nodes[nidx[name]]["translation"]
        gpos[name] = add(gpos[parent], tuple(t)) if parent else tuple(t)
    joint_names = [n for n, _, _ in ch.skel]
    jindex = {n: i for i, n in enumerate(joint_names)}
    ibm = []
    for n in joint_names:
        p = gpos[n]
        ibm.append((1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, -p[0], -p[1], -p[2], 1))
    skin = {"name": "Armature", "joints": [nidx[n] for n in joint_names],
            "inverseBindMatrices": g.vec(ibm, "MAT4", target=None), "skeleton": nidx["hips"]}
    g.j["skins"] = [skin]
    # materials
    mat_index = {}
    mat_order = []
    for _, parts, _ in ch.meshes:
        for p in parts:
            if p.material not in mat_index:
                mat_index[p.material] = len(mat_order)
                mat_order.append(p.material)
    for m in mat_order:
        g.j["materials"].append(material_json(g, m, fmt, textures))
    # face morph targets
    face_defs = toon_targets(ch.face) if toon else arkit_targets(ch.face)
    tnames, tdeltas = ch.face_targets(face_defs)
    mesh_nodes = []
    for mname, parts, morph in ch.meshes:
        prims = []
        for p in parts:
            nrm = p.normals()
            pos = [flip(v) for v in p.pos]
            nrm = [flip(v) for v in nrm]
            jw = [quantize_weights(w, jindex) for w in p.weights]
            big = len(pos) > 65535
            idx = [i for t in p.tris for i in t]
            attrs = {"POSITION": g.vec(pos, "VEC3", minmax=True), "NORMAL": g.vec(nrm, "VEC3")}
            if textures_needed(p.material, fmt):
                attrs["TEXCOORD_0"] = g.vec(p.uv, "VEC2")
            if fmt == "arkit" and PBR_MATS[p.material][5]:
                attrs["TANGENT"] = g.vec(tangents(pos, nrm, p.uv, p.tris), "VEC4")
            jb = bytes(j for js, _ in jw for j in js)
            attrs["JOINTS_0"] = g.accessor({"bufferView": g.view(jb, 34962), "componentType": 5121,
                                            "count": len(pos), "type": "VEC4"})
            attrs["WEIGHTS_0"] = g.vec([ws for _, ws in jw], "VEC4")
            ib = struct.pack("<%d%s" % (len(idx), "I" if big else "H"), *idx)
            prim = {"attributes": attrs, "indices": g.accessor({
                "bufferView": g.view(ib, 34963), "componentType": 5125 if big else 5123, "count": len(idx),
                "type": "SCALAR"}), "material": mat_index[p.material], "mode": 4}
            if morph:
                prim["targets"] = [{"POSITION": g.morph([flip(v) for v in tdeltas[p.material][k]])}
                                   for k in range(len(tnames))]
                prim["extras"] = {"targetNames": tnames}
            prims.append(prim)
        mesh = {"name": mname, "primitives": prims}
        if morph:
            mesh["weights"] = [0.0] * len(tnames)
            mesh["extras"] = {"targetNames": tnames}
        g.j["meshes"].append(mesh)
        mesh_nodes.append(len(nodes))
        nodes.append({"name": mname, "mesh": len(g.j["meshes"]) - 1, "skin": 0})
    g.j["scenes"].append({"name": "Scene", "nodes": [0] + mesh_nodes})
    face_node = mesh_nodes[[m[0] for m in ch.meshes].index("Face")]
    face_mesh = [m[0] for m in ch.meshes].index("Face")
    if fmt == "vrm1":
        vrm1_extensions(g, ch, nidx, names, usage, tnames, face_node, mesh_nodes, gpos, mat_order)
    elif fmt == "vrm0":
        vrm0_extension(g, ch, nidx, usage, tnames, face_mesh, gpos, mat_order, textures)
    for k in ("images", "samplers", "textures"):
        if k in g.j:
            g.j[k] = g.j.pop(k)
    return g.glb()


def textures_needed(mat, fmt):
    if fmt == "arkit":
        return PBR_MATS[mat][4] is not None or PBR_MATS[mat][5] is not None
    return TOON_MATS[mat][5] is not None


def material_json(g, m, fmt, textures):
    if fmt == "arkit":
        base, rough, alpha, ds, tex, ntex = PBR_MATS[m]
        pbr = {"baseColorFactor": lin3(base) + [1.0], "metallicFactor": 0.0, "roughnessFactor": rough}
        if tex:
            pbr["baseColorTexture"] = {"index": g.image(tex, textures[tex])}
        mat = {"name": m, "pbrMetallicRoughness": pbr}
        if ntex:
            mat["normalTexture"] = {"index": g.image(ntex, textures[ntex]), "scale": 0.6}
    else:
        base, shade, alpha, ds, outline, tex = TOON_MATS[m]
        a = 0.35 if alpha == "BLEND" else 1.0
        pbr = {"baseColorFactor": lin3(base) + [a], "metallicFactor": 0.0, "roughnessFactor": 0.9}
        if tex:
            pbr["baseColorTexture"] = {"index": g.image(tex, textures[tex])}
        mat = {"name": m, "pbrMetallicRoughness": pbr}
        if fmt == "vrm1":
            oc = [round(c * 0.45, 5) for c in lin3(shade)]
            mt = {"specVersion": "1.0", "transparentWithZWrite": False, "renderQueueOffsetNumber": 0,
                  "shadeColorFactor": lin3(shade), "shadingShiftFactor": -0.05 if m == "skin" else 0.0,
                  "shadingToonyFactor": 0.9, "giEqualizationFactor": 0.9, "matcapFactor": [0.0, 0.0, 0.0],
                  "parametricRimColorFactor": [0.12, 0.12, 0.12] if outline else [0.0, 0.0, 0.0],
                  "parametricRimFresnelPowerFactor": 5.0, "parametricRimLiftFactor": 0.0,
                  "rimLightingMixFactor": 1.0,
                  "outlineWidthMode": "worldCoordinates" if outline else "none",
                  "outlineWidthFactor": (0.0008 if m == "skin" else 0.0012) if outline else 0.0,
                  "outlineColorFactor": oc, "outlineLightingMixFactor": 1.0}
            if tex:
                mt["shadeMultiplyTexture"] = {"index": g.image(tex, textures[tex])}
            mat["extensions"] = {"VRMC_materials_mtoon": mt}
    mat["alphaMode"] = alpha
    if alpha == "MASK":
        mat["alphaCutoff"] = 0.5
    mat["doubleSided"] = ds
    return mat


VRM_META_NAME = "avatarcast test host"


def vrm1_extensions(g, ch, nidx, names, usage, tnames, face_node, mesh_nodes, gpos, mat_order):
    hb = {}
    for n, _, _ in ch.skel:
        if not n.startswith("hair"):
            hb[n] = {"node": nidx[n]}
    eye = gpos[L + "Eye"]
    head = gpos["head"]
    rng = lambda out: {"inputMaxValue": 90.0, "outputScale": out}
    preset = {}
    for name, binds in VRM1_EXPRESSIONS:
        block = "block" if name in ("happy", "surprised") else "none"
        preset[name] = {"morphTargetBinds": [{"node": face_node, "index": tnames.index(t), "weight": w}
                                             for t, w in binds],
                        "isBinary": False, "overrideBlink": block, "overrideLookAt": "none", "overrideMouth": "none"}
    vrm = {
        "specVersion": "1.0",
        "meta": {"name": VRM_META_NAME, "version": "1.0", "authors": ["avatarcast"],
                 "copyrightInformation": "\u00a9 avatarcast test characters",
                 "licenseUrl": "https://vrm.dev/licenses/1.0/", "avatarPermission": "everyone",
                 "allowExcessivelyViolentUsage": False, "allowExcessivelySexualUsage": False,
                 "commercialUsage": usage, "allowPoliticalOrReligiousUsage": False,
                 "allowAntisocialOrHateUsage": False, "creditNotation": "required", "allowRedistribution": False,
                 "modification": "allowModification"},
        "humanoid": {"humanBones": hb},
        "firstPerson": {"meshAnnotations": [{"node": n, "type": "auto"} for n in mesh_nodes]},
        "lookAt": {"offsetFromHeadBone": [0.0, round(eye[1] - head[1], 4), round(eye[2] - head[2] + 0.02, 4)],
                   "type": "bone", "rangeMapHorizontalInner": rng(8.0), "rangeMapHorizontalOuter": rng(10.0),
                   "rangeMapVerticalDown": rng(6.0), "rangeMapVerticalUp": rng(6.0)},
        "expressions": {"preset": preset},
    }
    colliders, groups = spring_colliders(ch, gpos)
    col_json = [{"node": nidx[n], "shape": {"sphere": {"offset": [round(c, 5) for c in off], "radius": r}}}
                for n, off, r in colliders]
    springs = []
    for key, label in (("tail", "Ponytail"), ("lockL", "SideLockLeft"), ("lockR", "SideLockRight")):
        stiff, gravity, drag = SPRINGS[key[:4]]
        springs.append({"name": label, "joints": [
            {"node": nidx[n], "hitRadius": 0.02 if key == "tail" else 0.012, "stiffness": stiff,
             "gravityPower": gravity, "gravityDir": [0.0, -1.0, 0.0], "dragForce": drag}
            for n in HAIR_CHAINS[key]], "colliderGroups": [0, 1]})
    g.j["extensionsUsed"] = ["VRMC_materials_mtoon", "VRMC_springBone", "VRMC_vrm"]
    g.j["extensions"] = {
        "VRMC_vrm": vrm,
        "VRMC_springBone": {"specVersion": "1.0", "colliders": col_json,
                            "colliderGroups": [{"name": nm, "colliders": idx} for nm, idx in groups],
                            "springs": springs},
    }


# Spring settings per hair chain: stiffness, gravity power, drag. The side locks swing
# freely enough that a head turn visibly trails through them.
SPRINGS = {"tail": (1.0, 0.5, 0.4), "lock": (0.7, 0.3, 0.2)}


def spring_colliders(ch, gpos, flip=lambda p: p):
    C = ch.style["head"]["C"]
    hs = ch.style["head"]
    head = gpos["head"]
    cols = [("head", flip(sub(C, ch.jpos["head"])), round(max(hs["a"], hs["c"]) * 1.0, 4)),
            ("upperChest", flip((0.0, 0.05, -0.01)), 0.09),
            ("chest", flip((0.0, 0.0, 0.0)), 0.09),
            (L + "UpperArm", flip((0.0, 0.0, 0.0)), 0.05),
            (R + "UpperArm", flip((0.0, 0.0, 0.0)), 0.05)]
    return cols, [("Head", [0]), ("Body", [1, 2, 3, 4])]


def vrm0_extension(g, ch, nidx, usage, tnames, face_mesh, gpos, mat_order, textures):
    bones = [{"bone": n, "node": nidx[n], "useDefaultValues": True} for n, _, _ in ch.skel if not n.startswith("hair")]
    groups = []
    for name, binds in VRM1_EXPRESSIONS:
        p = VRM0_PRESETS[name]
        groups.append({"name": name[0].upper() + name[1:] if p == "unknown" else p.capitalize() if len(p) > 1 else p.upper(),
                       "presetName": p,
                       "binds": [{"mesh": face_mesh, "index": tnames.index(t), "weight": w * 100.0} for t, w in binds],
                       "materialValues": [], "isBinary": False})
    colliders, cgroups = spring_colliders(ch, gpos, flip=rot_y180)
    coll = []
    for n, off, r in colliders:
        coll.append({"node": nidx[n], "colliders": [{"offset": {"x": round(off[0], 5), "y": round(off[1], 5),
                                                                 "z": round(off[2], 5)}, "radius": r}]})
    bone_groups = []
    for key, label in (("tail", "Ponytail"), ("lockL", "SideLockLeft"), ("lockR", "SideLockRight")):
        stiff, gravity, drag = SPRINGS[key[:4]]
        bone_groups.append({"comment": label, "stiffiness": stiff,
                            "gravityPower": gravity, "gravityDir": {"x": 0.0, "y": -1.0, "z": 0.0},
                            "dragForce": drag, "center": -1, "hitRadius": 0.02 if key == "tail" else 0.012,
                            "bones": [nidx[HAIR_CHAINS[key][0]]], "colliderGroups": list(range(len(coll)))})
    curve = [0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0]
    eye, head = gpos[L + "Eye"], gpos["head"]
    props = []
    for m in mat_order:
        props.append(vrm0_material(g, m, textures))
    lic = "Disallow" if usage == "personalNonProfit" else "Allow"
    g.j["extensionsUsed"] = ["VRM"]
    g.j["extensions"] = {"VRM": {
        "exporterVersion": "avatarcast-make-3d-hosts-1.0",
        "specVersion": "0.0",
        "meta": {"title": VRM_META_NAME, "version": "1.0", "author": "avatarcast", "contactInformation": "",
                 "reference": "", "texture": -1, "allowedUserName": "Everyone", "violentUssageName": "Disallow",
                 "sexualUssageName": "Disallow", "commercialUssageName": lic, "otherPermissionUrl": "",
                 "licenseName": "Other", "otherLicenseUrl": "https://vrm.dev/licenses/1.0/"},
        "humanoid": {"humanBones": bones, "armStretch": 0.05, "legStretch": 0.05, "upperArmTwist": 0.5,
                     "lowerArmTwist": 0.5, "upperLegTwist": 0.5, "lowerLegTwist": 0.5, "feetSpacing": 0.0,
                     "hasTranslationDoF": False},
        "firstPerson": {"firstPersonBone": nidx["head"],
                        "firstPersonBoneOffset": {"x": 0.0, "y": round(eye[1] - head[1], 4), "z": 0.0},
                        "meshAnnotations": [{"mesh": i, "firstPersonFlag": "Auto"} for i in range(len(ch.meshes))],
                        "lookAtTypeName": "Bone",
                        "lookAtHorizontalInner": {"curve": curve, "xRange": 90.0, "yRange": 8.0},
                        "lookAtHorizontalOuter": {"curve": curve, "xRange": 90.0, "yRange": 10.0},
                        "lookAtVerticalDown": {"curve": curve, "xRange": 90.0, "yRange": 6.0},
                        "lookAtVerticalUp": {"curve": curve, "xRange": 90.0, "yRange": 6.0}},
        "blendShapeMaster": {"blendShapeGroups": groups},
        "secondaryAnimation": {"boneGroups": bone_groups, "colliderGroups": coll},
        "materialProperties": props,
    }}


def vrm0_material(g, m, textures):
    base, shade, alpha, ds, outline, tex = TOON_MATS[m]
    a = 0.35 if alpha == "BLEND" else 1.0
    mode = {"OPAQUE": 0, "MASK": 1, "BLEND": 2}[alpha]
    tp = {}
    if tex:
        ti = g.image(tex, textures[tex])
        tp = {"_MainTex": ti, "_ShadeTexture": ti}
    fp = {"_Cutoff": 0.5, "_BumpScale": 1.0, "_ReceiveShadowRate": 1.0, "_ShadingGradeRate": 1.0,
          "_ShadeShift": -0.05 if m == "skin" else 0.0, "_ShadeToony": 0.9, "_LightColorAttenuation": 0.0,
          "_IndirectLightIntensity": 0.1, "_RimLightingMix": 1.0, "_RimFresnelPower": 5.0, "_RimLift": 0.0,
          "_OutlineWidth": (0.08 if m == "skin" else 0.12) if outline else 0.0, "_OutlineScaledMaxDistance": 1.0,
          "_OutlineLightingMix": 1.0, "_DebugMode": 0.0, "_BlendMode": float(mode),
          "_OutlineWidthMode": 1.0 if outline else 0.0, "_OutlineColorMode": 1.0, "_CullMode": 0.0 if ds else 2.0,
          "_OutlineCullMode": 1.0, "_SrcBlend": 5.0 if mode == 2 else 1.0, "_DstBlend": 10.0 if mode == 2 else 0.0,
          "_ZWrite": 0.0 if mode == 2 else 1.0, "_MToonVersion": 38.0}
    srgb4 = lambda c, al=1.0: [round(c[0], 5), round(c[1], 5), round(c[2], 5), al]
    vp = {"_Color": srgb4(base, a), "_ShadeColor": srgb4(shade), "_MainTex_ST": [0.0, 0.0, 1.0, 1.0],
          "_ShadeTexture_ST": [0.0, 0.0, 1.0, 1.0], "_EmissionColor": [0.0, 0.0, 0.0, 1.0],
          "_RimColor": [0.35, 0.35, 0.35, 1.0] if outline else [0.0, 0.0, 0.0, 1.0],
          "_OutlineColor": srgb4([c * 0.45 for c in shade])}
    rq = {0: 2000, 1: 2450, 2: 3000}[mode]
    kw = {1: {"_ALPHATEST_ON": True}, 2: {"_ALPHABLEND_ON": True}}.get(mode, {})
    kw = dict(kw)
    if outline:
        kw["MTOON_OUTLINE_WIDTH_WORLD"] = True
        kw["MTOON_OUTLINE_COLOR_MIXED"] = True
    tag = {0: "Opaque", 1: "TransparentCutout", 2: "Transparent"}[mode]
    return {"name": m, "renderQueue": rq, "shader": "VRM/MToon", "floatProperties": fp, "vectorProperties": vp,
            "textureProperties": tp, "keywordMap": kw, "tagMap": {"RenderType": tag}}


# ----------------------------------------------------------------------------- main

VRM_NAMES = {n: n[0].upper() + n[1:] for n in
             SPINE + [s + b for s in (L, R) for b in ("Eye", "Shoulder", "UpperArm", "LowerArm", "Hand", "UpperLeg",
                                                        "LowerLeg", "Foot", "Toes")]}
VRM_NAMES.update({n: "Hair" + n[4:] for c in HAIR_CHAINS.values() for n in c})
MIXAMO = {"hips": "Hips", "spine": "Spine", "chest": "Spine1", "upperChest": "Spine2", "neck": "Neck", "head": "Head"}
for _s, _S in ((L, "Left"), (R, "Right")):
    MIXAMO.update({_s + "Eye": _S + "Eye", _s + "Shoulder": _S + "Shoulder", _s + "UpperArm": _S + "Arm",
                   _s + "LowerArm": _S + "ForeArm", _s + "Hand": _S + "Hand", _s + "UpperLeg": _S + "UpLeg",
                   _s + "LowerLeg": _S + "Leg", _s + "Foot": _S + "Foot", _s + "Toes": _S + "ToeBase"})
MIXAMO.update({n: "Hair" + n[4:] for c in HAIR_CHAINS.values() for n in c})


def stats(ch):
    tris = sum(len(p.tris) for _, parts, _ in ch.meshes for p in parts)
    verts = sum(len(p.pos) for _, parts, _ in ch.meshes for p in parts)
    return tris, verts


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--commercial-usage", default="corporation",
                    choices=["corporation", "personalProfit", "personalNonProfit"])
    ap.add_argument("--only", choices=["vrm1", "vrm0", "arkit"], action="append",
                    help="write only these formats (default: all three)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    want = args.only or ["vrm1", "vrm0", "arkit"]
    tex = {"iris": iris_png((0.86, 0.55, 0.26), (0.36, 0.17, 0.08)), "highlight": highlight_png()}
    if "vrm1" in want or "vrm0" in want:
        toon = Character(CARTOON)
        for fmt, fname in (("vrm1", "host-vrm1.vrm"), ("vrm0", "host-vrm0.vrm")):
            if fmt in want:
                data = export(toon, fmt, VRM_NAMES, args.commercial_usage, tex)
                with open(os.path.join(args.out, fname), "wb") as f:
                    f.write(data)
                print("%s: %d triangles, %d vertices, %d bytes" % ((fname,) + stats(toon) + (len(data),)))
    if "arkit" in want:
        real = Character(REALISTIC)
        fab, fab_n = fabric_pngs()
        rtex = {"iris": iris_png((0.52, 0.34, 0.20), (0.20, 0.11, 0.06), seed=3), "highlight": tex["highlight"],
                "fabric": fab, "fabric_n": fab_n}
        data = export(real, "arkit", MIXAMO, args.commercial_usage, rtex)
        with open(os.path.join(args.out, "host-arkit.glb"), "wb") as f:
            f.write(data)
        print("host-arkit.glb: %d triangles, %d vertices, %d bytes" % (stats(real) + (len(data),)))


if __name__ == "__main__":
    main()
