"""A WHIP endpoint (RFC 9725) on GStreamer's webrtcbin as Debian ships it, a second
WebRTC stack independent of webrtc-rs and aiortc, for the tests. It answers a
publisher's offer with what webrtcbin negotiates for receive-only H.264 and Opus
(any H.264 profile its decoder takes), decodes what arrives and records it (H.264
re-encoded by x264 ultrafast, Opus as AAC, in Matroska), and on DELETE or SIGTERM
finishes the file. Loopback only: the HTTP server, and the ICE candidates it answers.

usage: /usr/bin/python3 whip_webrtcbin.py --port P --record FILE [--profile-level-id ID]
(Debian's python3 with python3-gi and gir1.2-gst-plugins-bad-1.0.)
"""

import argparse
import http.server
import signal
import sys
import threading

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstSdp", "1.0")
gi.require_version("GstWebRTC", "1.0")
from gi.repository import GLib, Gst, GstSdp, GstWebRTC  # noqa: E402


_log_lock = threading.Lock()


def log(*args):
    # One write per line under a lock: pads are added on streaming threads, and
    # print() writes its arguments piecemeal, so two tracks' lines interleaved.
    line = " ".join(["webrtcbin-endpoint:", *map(str, args)]) + "\n"
    with _log_lock:
        sys.stderr.write(line)
        sys.stderr.flush()


class Session:
    """One publisher: webrtcbin, then per incoming track decode and record."""

    def __init__(self, record, profile_level_id):
        self.pipeline = Gst.Pipeline.new("whip")
        self.webrtc = Gst.ElementFactory.make("webrtcbin", "recv")
        self.webrtc.set_property("bundle-policy", GstWebRTC.WebRTCBundlePolicy.MAX_BUNDLE)
        self.pipeline.add(self.webrtc)
        self.mux = Gst.ElementFactory.make("matroskamux", "mux")
        sink = Gst.ElementFactory.make("filesink", "file")
        sink.set_property("location", record)
        self.pipeline.add(self.mux)
        self.pipeline.add(sink)
        self.mux.link(sink)
        video = "application/x-rtp,media=video,encoding-name=H264,clock-rate=90000,payload=96"
        if profile_level_id:
            video += ",profile-level-id=(string)%s" % profile_level_id
        for caps in (video, "application/x-rtp,media=audio,encoding-name=OPUS,clock-rate=48000,payload=111"):
            self.webrtc.emit("add-transceiver", GstWebRTC.WebRTCRTPTransceiverDirection.RECVONLY, Gst.Caps.from_string(caps))
        self.webrtc.connect("pad-added", self.on_pad)
        self.frames = {"video": 0, "audio": 0}
        self.pipeline.set_state(Gst.State.PLAYING)

    def answer(self, offer_text):
        ok, sdp = GstSdp.SDPMessage.new_from_text(offer_text)
        offer = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.OFFER, sdp)
        promise = Gst.Promise.new()
        self.webrtc.emit("set-remote-description", offer, promise)
        promise.wait()
        promise = Gst.Promise.new()
        self.webrtc.emit("create-answer", None, promise)
        promise.wait()
        reply = promise.get_reply()
        if reply is None or reply.get_value("answer") is None:
            error = reply.get_value("error") if reply else None
            raise RuntimeError("webrtcbin made no answer: %s" % (error.message if error else "no reason given"))
        answer = reply.get_value("answer")
        promise = Gst.Promise.new()
        self.webrtc.emit("set-local-description", answer, promise)
        promise.wait()
        # The answer goes out with every candidate in it (WHIP has no trickle here).
        done = threading.Event()
        self.webrtc.connect("notify::ice-gathering-state", lambda *_: self.webrtc.get_property("ice-gathering-state") == GstWebRTC.WebRTCICEGatheringState.COMPLETE and done.set())
        if self.webrtc.get_property("ice-gathering-state") != GstWebRTC.WebRTCICEGatheringState.COMPLETE:
            done.wait(5)
        text = self.webrtc.get_property("local-description").sdp.as_text()
        # Only loopback candidates: the test's peer is on this machine.
        return "".join(l for l in text.splitlines(True) if not l.startswith("a=candidate") or " 127.0.0.1 " in l)

    def on_pad(self, _webrtc, pad):
        if pad.get_direction() != Gst.PadDirection.SRC:
            return
        kind = pad.get_current_caps().get_structure(0).get_string("media")
        if kind == "video":
            chain = "rtph264depay ! h264parse ! avdec_h264 ! videoconvert ! x264enc speed-preset=ultrafast tune=zerolatency ! h264parse"
        else:
            chain = "rtpopusdepay ! opusdec ! audioconvert ! audioresample ! avenc_aac ! aacparse"
        branch = Gst.parse_bin_from_description("queue ! " + chain, True)
        self.pipeline.add(branch)
        branch.sync_state_with_parent()
        pad.link(branch.get_static_pad("sink"))
        branch.get_static_pad("src").link(self.mux.request_pad_simple("video_%u" if kind == "video" else "audio_%u"))
        counter = branch.get_static_pad("src")
        counter.add_probe(Gst.PadProbeType.BUFFER, self.count, kind)
        log("receiving", kind, pad.get_current_caps().to_string())

    def count(self, _pad, _info, kind):
        self.frames[kind] += 1
        return Gst.PadProbeReturn.OK

    def finish(self):
        """EOS through the recorder so the file is finalized, then stop."""
        for pad in self.mux.sinkpads:
            pad.send_event(Gst.Event.new_eos())
        bus = self.pipeline.get_bus()
        bus.timed_pop_filtered(10 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
        self.pipeline.set_state(Gst.State.NULL)
        log("recorded", self.frames)


class Endpoint(http.server.BaseHTTPRequestHandler):
    args = None
    sessions = {}
    lock = threading.Lock()

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
        if self.path != "/whip":
            return self.reply(404, b"no such endpoint")
        if self.headers.get("Content-Type") != "application/sdp":
            return self.reply(415, b"send application/sdp")
        with self.lock:
            if self.sessions:
                return self.reply(409, b"one publisher at a time")
            try:
                session = Session(self.args.record, self.args.profile_level_id)
                answer = session.answer(body)
            except Exception as e:  # what the publisher is told
                log("refused:", e)
                return self.reply(500, str(e).encode())
            self.sessions["/whip/session/1"] = session
        log("answered:", [l for l in answer.splitlines() if l.startswith(("m=", "a=rtpmap", "a=fmtp"))])
        self.reply(201, answer.encode(), [("Content-Type", "application/sdp"), ("Location", "/whip/session/1")])

    def do_DELETE(self):
        with self.lock:
            session = self.sessions.pop(self.path, None)
        if session is None:
            return self.reply(404, b"no such resource")
        session.finish()
        self.reply(200)

    def log_message(self, fmt, *args):
        log(fmt % args)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--record", required=True)
    parser.add_argument("--profile-level-id", help="take only this H.264 profile (e.g. 42e01f); default: any")
    Endpoint.args = parser.parse_args()
    Gst.init(None)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", Endpoint.args.port), Endpoint)
    loop = GLib.MainLoop()
    threading.Thread(target=loop.run, daemon=True).start()

    def stop(*_):
        for session in list(Endpoint.sessions.values()):
            session.finish()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    log("listening on", Endpoint.args.port)
    server.serve_forever()


if __name__ == "__main__":
    main()
