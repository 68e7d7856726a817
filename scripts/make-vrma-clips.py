#!/usr/bin/env python3
"""Generate the gesture and idle clips that 3D host packs get by default, as VRM Animation.

    python3 scripts/make-vrma-clips.py --out DIR

writes DIR/idle.vrma (an 8 s loop: weight shifts and arms at rest), DIR/wave.vrma (the right
hand raised and waving), DIR/point.vrma (the right hand pointing down to the product card under
the host) and DIR/nod.vrma (a double nod). Keys are sampled at 30 per second from the functions
below; the same command always writes byte-identical files (stdlib only).

The clip body is the generated cartoon host's skeleton in a T-pose with identity rotations, so
every key is already in VRM's normalised space (the character faces +Z, its left is +X).
"""
import argparse
import importlib.util
import math
import os

_spec = importlib.util.spec_from_file_location("hosts", os.path.join(os.path.dirname(__file__), "make-3d-hosts.py"))
hosts = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hosts)

RATE = 30


def quat(axis, degrees):
    """Rotation about 'x', 'y' or 'z' as [x, y, z, w]."""
    h = math.radians(degrees) / 2
    v = [0.0, 0.0, 0.0]
    v["xyz".index(axis)] = math.sin(h)
    return v + [math.cos(h)]


def qmul(a, b):
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return [aw * bx + ax * bw + ay * bz - az * by, aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw, aw * bw - ax * bx - ay * by - az * bz]


def rot(*turns):
    """Rotations applied right to left, as written: rot(('z', 70), ('y', 8)) = Rz(70) * Ry(8)."""
    q = [0.0, 0.0, 0.0, 1.0]
    for axis, deg in turns:
        q = qmul(q, quat(axis, deg))
    return q


def ease(x):
    x = min(max(x, 0.0), 1.0)
    return x * x * (3 - 2 * x)


def mix(a, b, t):
    return a + (b - a) * t


def arms_at_rest(t, phase=0.0):
    """Arms down from the T-pose, breathing a little (the host's rest pose)."""
    s = math.sin(2 * math.pi * (t / 8.0 + phase))
    c = math.cos(2 * math.pi * (t / 8.0 + phase))
    return {
        "leftUpperArm": rot(("z", -70 + 1.5 * s), ("y", -8 + 2 * c)),
        "rightUpperArm": rot(("z", 70 + 1.5 * c), ("y", 8 - 2 * s)),
        "leftLowerArm": rot(("y", -25 - 3 * c)),
        "rightLowerArm": rot(("y", 25 + 3 * s)),
    }


def idle(t):
    s = math.sin(2 * math.pi * t / 8.0)
    pose = arms_at_rest(t)
    pose["spine"] = rot(("z", 1.2 * s))
    pose["chest"] = rot(("z", -0.6 * s), ("y", 1.5 * math.sin(2 * math.pi * t / 4.0)))
    return pose


def conj(q):
    return [-q[0], -q[1], -q[2], q[3]]


def between(a, b):
    """The shortest rotation taking direction a to direction b."""
    a, b = hosts.norm(a), hosts.norm(b)
    axis = hosts.cross(a, b)
    w = 1.0 + hosts.dot(a, b)
    q = [axis[0], axis[1], axis[2], w]
    n = math.sqrt(sum(c * c for c in q))
    return [c / n for c in q]


def slerp(a, b, t):
    d = sum(x * y for x, y in zip(a, b))
    if d < 0:
        b, d = [-c for c in b], -d
    if d > 0.9995:
        q = [x + (y - x) * t for x, y in zip(a, b)]
    else:
        th = math.acos(d)
        q = [(math.sin((1 - t) * th) * x + math.sin(t * th) * y) / math.sin(th) for x, y in zip(a, b)]
    n = math.sqrt(sum(c * c for c in q))
    return [c / n for c in q]


RIGHT = (-1.0, 0.0, 0.0)  # the right arm's direction at rest (T-pose)


def right_arm(t, upper, lower, rise, fall, end):
    """The right arm from rest to where `upper` and `lower(t)` (directions) point, over
    [0, rise], and back over [fall, end]."""
    w = ease(t / rise) if t < fall else 1 - ease((t - fall) / (end - fall))
    up = between(RIGHT, upper)
    low = qmul(conj(up), between(RIGHT, lower(t)))
    return {
        "rightUpperArm": slerp(rot(("z", 70), ("y", 8)), up, w),
        "rightLowerArm": slerp(rot(("y", 25)), low, w),
    }


def wave(t):
    # Elbow out and down in front of the shoulder, the forearm up beside the face,
    # swinging side to side at 2.2 per second.
    def lower(t):
        swing = math.sin(2 * math.pi * 2.2 * max(t - 0.45, 0.0))
        return (0.2 + 0.4 * swing, 1.0, 0.3)
    pose = right_arm(t, (-0.4, -0.7, 0.6), lower, 0.5, 2.0, 2.6)
    pose["head"] = rot(("z", 4 * ease(t / 0.5) * (1 - ease((t - 2.0) / 0.6))))
    return pose


def point(t):
    # The hand forward and in front of the body, pointing down to the card below.
    pose = right_arm(t, (-0.3, -0.75, 0.6), lambda t: (0.5, -0.45, 0.75), 0.45, 1.9, 2.4)
    look = ease(t / 0.5) * (1 - ease((t - 1.9) / 0.5))
    pose["head"] = rot(("x", 9 * look))
    pose["neck"] = rot(("x", 4 * look))
    return pose


def nod(t):
    keys = [(0.0, 0.0), (0.3, 14.0), (0.55, 2.0), (0.8, 10.0), (1.3, 0.0)]
    for (t0, a0), (t1, a1) in zip(keys, keys[1:]):
        if t <= t1:
            angle = mix(a0, a1, ease((t - t0) / (t1 - t0)))
            break
    return {"head": rot(("x", angle)), "neck": rot(("x", angle * 0.4))}


CLIPS = {"idle": (idle, 8.0), "wave": (wave, 2.6), "point": (point, 2.4), "nod": (nod, 1.3)}


def export(motion, duration):
    style = hosts.CARTOON
    joints = style["joints"]
    g = hosts.Gltf()
    g.j["asset"]["generator"] = "avatarcast make-vrma-clips.py"
    nodes, index, pos = g.j["nodes"], {}, {}
    skeleton = [(n, p) for n, p in zip(hosts.SPINE, [None] + hosts.SPINE[:-1])]
    for side, sign in ((hosts.L, 1), (hosts.R, -1)):
        prev = "upperChest"
        for part in ("shoulder", "upperArm", "lowerArm", "hand"):
            skeleton.append((side + part[0].upper() + part[1:], prev))
            prev = skeleton[-1][0]
        prev = "hips"
        for part in ("upperLeg", "lowerLeg", "foot", "toes"):
            skeleton.append((side + part[0].upper() + part[1:], prev))
            prev = skeleton[-1][0]
    for name, parent in skeleton:
        base = name[len("left"):] if name.startswith("left") else name[len("right"):] if name.startswith("right") else name
        key = base[0].lower() + base[1:]
        p = joints[key]
        pos[name] = (-p[0], p[1], p[2]) if name.startswith("right") else tuple(p)
        index[name] = len(nodes)
        t = hosts.sub(pos[name], pos[parent]) if parent else pos[name]
        nodes.append({"name": name[0].upper() + name[1:], "translation": [round(c, 6) for c in t]})
        if parent:
            nodes[index[parent]].setdefault("children", []).append(index[name])
    g.j["scenes"] = [{"nodes": [index["hips"]]}]
    frames = int(round(duration * RATE))
    times = [(i / RATE,) for i in range(frames + 1)]
    poses = [motion(t) for (t,) in times]
    input_acc = g.vec(times, "SCALAR", target=None, minmax=True)
    channels, samplers = [], []
    for bone in sorted(poses[0]):
        values = [tuple(round(c, 6) for c in p[bone]) for p in poses]
        samplers.append({"input": input_acc, "output": g.vec(values, "VEC4", target=None), "interpolation": "LINEAR"})
        channels.append({"sampler": len(samplers) - 1, "target": {"node": index[bone], "path": "rotation"}})
    g.j["animations"] = [{"channels": channels, "samplers": samplers}]
    g.j["extensionsUsed"] = ["VRMC_vrm_animation"]
    g.j["extensions"] = {"VRMC_vrm_animation": {"specVersion": "1.0", "humanoid": {
        "humanBones": {name: {"node": index[name]} for name, _ in skeleton}}}}
    del g.j["meshes"], g.j["materials"]
    return g.glb()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="output directory")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for name, (motion, duration) in CLIPS.items():
        data = export(motion, duration)
        with open(os.path.join(args.out, name + ".vrma"), "wb") as f:
            f.write(data)
        print("%s.vrma: %.1f s, %d bytes" % (name, duration, len(data)))


if __name__ == "__main__":
    main()
