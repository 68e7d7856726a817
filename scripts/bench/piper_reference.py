"""The reference Piper (PyPI piper-tts) on the same voice, sentences and thread count
as `avatarcast bench`, for a side-by-side synthesis speed. Run by the bench with the
venv scripts/setup.sh makes (models/piper-tts-venv).

stdin: {"model": PATH, "threads": N, "sentences": [...]}
stdout: {"version": ..., "synth_seconds": S, "audio_seconds": A, "first_audio_ms": [...]}
"""

import json
import sys
import time
from importlib.metadata import version

import onnxruntime
from piper import PiperVoice

job = json.load(sys.stdin)
voice = PiperVoice.load(job["model"])
# piper-tts opens its session with default options (every core); give it the same
# thread count as avatarcast's voice.
options = onnxruntime.SessionOptions()
options.intra_op_num_threads = job["threads"]
options.inter_op_num_threads = 1
voice.session = onnxruntime.InferenceSession(job["model"], sess_options=options, providers=["CPUExecutionProvider"])

list(voice.synthesize(job["sentences"][0]))  # warm-up, as avatarcast's bench does
synth = audio = 0.0
for sentence in job["sentences"]:
    started = time.perf_counter()
    chunks = list(voice.synthesize(sentence))
    synth += time.perf_counter() - started
    audio += sum(len(c.audio_float_array) for c in chunks) / voice.config.sample_rate
json.dump({"version": version("piper-tts"), "onnxruntime": onnxruntime.__version__, "synth_seconds": synth, "audio_seconds": audio}, sys.stdout)
