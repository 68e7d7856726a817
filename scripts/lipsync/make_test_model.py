"""Writes the test lip-sync model: an ONNX graph with the Wav2Lip signature whose
output depends visibly on the audio, so tests can tell that the mouth follows the
sound (it is not a lip-sync model; users bring production weights, see
docs/avatar-packs.md).

  inputs   mel_spectrogram (B,1,80,16)   video_frames (B,6,96,96), BGR 0..1
  output   output (B,3,96,96)

The model takes the loudness of the window's first 3 mel columns (the frame's own
40 ms), and draws a mouth-coloured ellipse into the reference face (channels 3-5) at
the mouth position whose size grows with it: none in silence, full at speech level.

It also writes a test face enhancer on the GFPGAN contract (`avatar.lipsync.enhancer`):
input `input` (1,3,512,512) RGB in [-1, 1], output `output` the same: the input
unchanged but for a pure blue disc (radius 40) on the FFHQ template's nose point, so
tests can see where the aligned face went back into the frame.

And a test face detector on the UltraFace contract (`avatar import
--face-detector`): input `input` (1,3,240,320) RGB, (pixel - 127) / 128; outputs
`scores` (1,1,2) and `boxes` (1,1,4). It is no detector either: it finds the
skin-coloured blob of the tests' synthetic presenter (its centre +-2 standard deviations).

Usage: python3 scripts/lipsync/make_test_model.py   (needs numpy and onnx)
Writes assets/lipsync/test-wav2lip.onnx, tests/fixtures/wav2lip-renamed.onnx (the
same graph with another export's names: audio_sequences, face_sequences -> generated)
tests/fixtures/test-face-enhancer.onnx and tests/fixtures/test-face-detector.onnx.
"""

import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SIZE = 96
# Mouth interior of the built-in host (tests look for this colour), BGR.
MOUTH_RGB = (0x7A, 0x10, 0x30)


def finish(graph):
    """The graph as a checked opset-13 model that ONNX Runtime 1.14 and later load."""
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="avatarcast scripts/lipsync/make_test_model.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def build(mel_name, face_name, out_name):
    ys, xs = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    # 1 at the mouth centre, 0 on the ellipse's edge, negative outside.
    field = 1.0 - ((xs - 48.0) / 20.0) ** 2 - ((ys - 73.0) / 11.0) ** 2
    colour = np.array([MOUTH_RGB[2], MOUTH_RGB[1], MOUTH_RGB[0]], np.float32).reshape(1, 3, 1, 1) / 255.0
    consts = [
        numpy_helper.from_array(field.reshape(1, 1, SIZE, SIZE), "field"),
        numpy_helper.from_array(colour, "colour"),
        numpy_helper.from_array(np.array([0], np.int64), "zero"),
        numpy_helper.from_array(np.array([3], np.int64), "three"),
        numpy_helper.from_array(np.array([6], np.int64), "six"),
        numpy_helper.from_array(np.array([1], np.int64), "axis1"),
        numpy_helper.from_array(np.array([3], np.int64), "axis3"),
        numpy_helper.from_array(np.array(3.5, np.float32), "offset"),
        numpy_helper.from_array(np.array(1.0 / 2.5, np.float32), "gain"),
        numpy_helper.from_array(np.array(0.0, np.float32), "f0"),
        numpy_helper.from_array(np.array(1.0, np.float32), "f1"),
        numpy_helper.from_array(np.array(8.0, np.float32), "sharp"),
    ]
    nodes = [
        # Loudness of the frame's own 40 ms: mean of mel columns 0..3.
        helper.make_node("Slice", [mel_name, "zero", "three", "axis3"], ["first_columns"]),
        helper.make_node("ReduceMean", ["first_columns"], ["level"], axes=[1, 2, 3], keepdims=1),
        helper.make_node("Add", ["level", "offset"], ["raised"]),
        helper.make_node("Mul", ["raised", "gain"], ["scaled"]),
        helper.make_node("Clip", ["scaled", "f0", "f1"], ["open"]),
        # The ellipse shrinks to nothing as `open` falls: field > 1 - open.
        helper.make_node("Sub", ["f1", "open"], ["closed"]),
        helper.make_node("Sub", ["field", "closed"], ["inside"]),
        helper.make_node("Mul", ["inside", "sharp"], ["edge"]),
        helper.make_node("Clip", ["edge", "f0", "f1"], ["mask"]),
        # The reference face with the mouth drawn in.
        helper.make_node("Slice", [face_name, "three", "six", "axis1"], ["reference"]),
        helper.make_node("Sub", ["f1", "mask"], ["keep"]),
        helper.make_node("Mul", ["reference", "keep"], ["kept"]),
        helper.make_node("Mul", ["colour", "mask"], ["drawn"]),
        helper.make_node("Add", ["kept", "drawn"], [out_name]),
    ]
    graph = helper.make_graph(
        nodes,
        "avatarcast-test-wav2lip",
        [
            helper.make_tensor_value_info(mel_name, TensorProto.FLOAT, ["B", 1, 80, 16]),
            helper.make_tensor_value_info(face_name, TensorProto.FLOAT, ["B", 6, SIZE, SIZE]),
        ],
        [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, ["B", 3, SIZE, SIZE])],
        initializer=consts,
    )
    return finish(graph)


def build_detector():
    h, w = 240, 320
    f = lambda v: numpy_helper.from_array(np.array(v, np.float32))
    # Pixel centres as fractions of the image, broadcast along the other axis.
    consts = [
        numpy_helper.from_array(((np.arange(w, dtype=np.float32) + 0.5) / w).reshape(1, 1, 1, w), "gx"),
        numpy_helper.from_array(((np.arange(h, dtype=np.float32) + 0.5) / h).reshape(1, 1, h, 1), "gy"),
        numpy_helper.from_array(np.array([1, 2, 3], np.int64), "axes"),
        numpy_helper.from_array(np.array([1, 1, 1], np.int64), "shape111"),
        numpy_helper.from_array(np.array([0], np.int64), "i0"),
        numpy_helper.from_array(np.array([1], np.int64), "i1"),
        numpy_helper.from_array(np.array([2], np.int64), "i2"),
        numpy_helper.from_array(np.array([3], np.int64), "i3"),
        numpy_helper.from_array(np.array([128.0 / 255.0], np.float32), "to_unit"),
        numpy_helper.from_array(np.array([127.0 / 255.0], np.float32), "unit_offset"),
    ]
    for name, v in [("r_min", 0.75), ("g_min", 0.55), ("b_min", 0.42), ("big", 1e4), ("zero", 0.0), ("one", 1.0), ("eps", 1e-6), ("two", 2.0), ("per_face", 1.0 / 50.0)]:
        t = f(v)
        t.name = name
        consts.append(t)
    n = []
    node = lambda op, ins, outs, **kw: n.append(helper.make_node(op, ins, outs, **kw))
    node("Mul", ["input", "to_unit"], ["scaled"])
    node("Add", ["scaled", "unit_offset"], ["rgb"])
    for c, (lo, hi) in zip("rgb", [("i0", "i1"), ("i1", "i2"), ("i2", "i3")]):
        node("Slice", ["rgb", lo, hi, "i1"], [c])
        node("Sub", [c, f"{c}_min"], [f"{c}_over"])
        node("Relu", [f"{c}_over"], [f"{c}_pos"])
    node("Mul", ["r_pos", "g_pos"], ["rg"])
    node("Mul", ["rg", "b_pos"], ["skin_soft"])
    node("Mul", ["skin_soft", "big"], ["skin_big"])
    node("Clip", ["skin_big", "zero", "one"], ["m"])
    node("ReduceSum", ["m", "axes"], ["count"], keepdims=1)
    node("Add", ["count", "eps"], ["count_eps"])
    for g in ("x", "y"):
        node("Mul", ["m", f"g{g}"], [f"m{g}"])
        node("ReduceSum", [f"m{g}", "axes"], [f"s{g}"], keepdims=1)
        node("Div", [f"s{g}", "count_eps"], [f"c{g}"])
        node("Mul", [f"m{g}", f"g{g}"], [f"m{g}{g}"])
        node("ReduceSum", [f"m{g}{g}", "axes"], [f"s{g}{g}"], keepdims=1)
        node("Div", [f"s{g}{g}", "count_eps"], [f"c{g}{g}"])
        node("Mul", [f"c{g}", f"c{g}"], [f"c{g}_sq"])
        node("Sub", [f"c{g}{g}", f"c{g}_sq"], [f"v{g}"])
        node("Relu", [f"v{g}"], [f"v{g}_pos"])
        node("Sqrt", [f"v{g}_pos"], [f"sd{g}"])
        node("Mul", [f"sd{g}", "two"], [f"half{g}"])
        node("Sub", [f"c{g}", f"half{g}"], [f"{g}0_4d"])
        node("Add", [f"c{g}", f"half{g}"], [f"{g}1_4d"])
        for e in ("0", "1"):
            node("Reshape", [f"{g}{e}_4d", "shape111"], [f"{g}{e}"])
    node("Concat", ["x0", "y0", "x1", "y1"], ["boxes"], axis=2)
    node("Mul", ["count", "per_face"], ["conf_raw"])
    node("Clip", ["conf_raw", "zero", "one"], ["conf_4d"])
    node("Reshape", ["conf_4d", "shape111"], ["conf"])
    node("Sub", ["one", "conf"], ["background"])
    node("Concat", ["background", "conf"], ["scores"], axis=2)
    graph = helper.make_graph(
        n,
        "avatarcast-test-face-detector",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, h, w])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, 1, 2]), helper.make_tensor_value_info("boxes", TensorProto.FLOAT, [1, 1, 4])],
        initializer=consts,
    )
    return finish(graph)


def build_enhancer():
    s = 512
    nose = (0.50123859 * s, 0.61331904 * s)
    consts = [
        numpy_helper.from_array((np.arange(s, dtype=np.float32) - nose[0]).reshape(1, 1, 1, s) ** 2, "dx2"),
        numpy_helper.from_array((np.arange(s, dtype=np.float32) - nose[1]).reshape(1, 1, s, 1) ** 2, "dy2"),
        numpy_helper.from_array(np.array(40.0**2, np.float32), "r2"),
        numpy_helper.from_array(np.array([-1.0, -1.0, 1.0], np.float32).reshape(1, 3, 1, 1), "blue"),
        numpy_helper.from_array(np.array(1.0, np.float32), "one"),
    ]
    nodes = [
        helper.make_node("Add", ["dx2", "dy2"], ["d2"]),
        helper.make_node("Less", ["d2", "r2"], ["inside"]),
        helper.make_node("Cast", ["inside"], ["disc"], to=TensorProto.FLOAT),
        helper.make_node("Sub", ["one", "disc"], ["keep"]),
        helper.make_node("Mul", ["input", "keep"], ["kept"]),
        helper.make_node("Mul", ["blue", "disc"], ["drawn"]),
        helper.make_node("Add", ["kept", "drawn"], ["output"]),
    ]
    graph = helper.make_graph(
        nodes,
        "avatarcast-test-face-enhancer",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, s, s])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3, s, s])],
        initializer=consts,
    )
    return finish(graph)


def main():
    targets = [
        (os.path.join(ROOT, "assets/lipsync/test-wav2lip.onnx"), ("mel_spectrogram", "video_frames", "output")),
        (os.path.join(ROOT, "tests/fixtures/wav2lip-renamed.onnx"), ("audio_sequences", "face_sequences", "generated")),
    ]
    for path, names in targets:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        onnx.save(build(*names), path)
        print(f"wrote {os.path.relpath(path, ROOT)} ({os.path.getsize(path)} bytes)")
    for name, graph in [("test-face-detector.onnx", build_detector()), ("test-face-enhancer.onnx", build_enhancer())]:
        path = os.path.join(ROOT, "tests/fixtures", name)
        onnx.save(graph, path)
        print(f"wrote {os.path.relpath(path, ROOT)} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    sys.exit(main())
