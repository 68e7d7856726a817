"""A minimal WHIP endpoint (RFC 9725) on aiortc as it ships from PyPI, an independent
WebRTC stack, for the tests (aiortc negotiates H.264 Constrained Baseline only): it answers a publisher's offer with 201 and a Location, records what arrives
(the H.264 decoded and re-encoded with libx264 ultrafast, the Opus as AAC, in Matroska)
and ends the session on DELETE. Loopback only: its HTTP server and its ICE candidates.

SIGTERM finishes the recording and exits without closing the peer connection, so the
publisher sees the endpoint vanish as if it had crashed.

usage: whip_endpoint.py --port P --record FILE [--token T] [--link HEADER]
"""

import argparse
import asyncio
import os
import signal
import sys
import threading

import aioice.ice
import av
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

# aioice leaves 127.0.0.1 out of its host candidates; here it is the only one.
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]


_log_lock = threading.Lock()


def log(*args):
    # One write per line under a lock: pads are added on streaming threads, and
    # print() writes its arguments piecemeal, so two tracks' lines interleaved.
    line = " ".join(["whip-endpoint:", *map(str, args)]) + "\n"
    with _log_lock:
        sys.stderr.write(line)
        sys.stderr.flush()


class Recorder:
    """Video and audio into one Matroska file, timestamps as they came (RTP clocks)."""

    def __init__(self, path):
        self.container = av.open(path, mode="w", format="matroska")
        self.streams = {}
        self.tasks = []
        self.frames = {"video": 0, "audio": 0}

    def add(self, track):
        if track.kind == "video":
            stream = self.container.add_stream("libx264", rate=25, options={"preset": "ultrafast"})
            stream.pix_fmt = "yuv420p"
        else:
            stream = self.container.add_stream("aac")
        self.streams[track.kind] = stream
        self.tasks.append(asyncio.ensure_future(self.run(track, stream)))

    async def run(self, track, stream):
        started = False
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if not started and track.kind == "video":
                stream.width, stream.height = frame.width, frame.height
            started = True
            self.frames[track.kind] += 1
            for packet in stream.encode(frame):
                self.container.mux(packet)

    def close(self):
        for task in self.tasks:
            task.cancel()
        for stream in self.streams.values():
            try:
                for packet in stream.encode(None):
                    self.container.mux(packet)
            except Exception as e:  # an encoder that never started
                log("flushing:", e)
        self.container.close()
        log("recorded", self.frames)


class Endpoint:
    def __init__(self, args):
        self.args = args
        self.sessions = {}
        self.recorder = None
        self.next_id = 1

    async def handle(self, reader, writer):
        try:
            request = (await reader.readline()).decode().split()
            if len(request) < 2:  # a port probe
                writer.close()
                return
            headers = {}
            while True:
                line = (await reader.readline()).decode().strip()
                if not line:
                    break
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            status, extra, answer = await self.route(request[0], request[1], headers, body.decode())
        except Exception as e:
            log("error:", repr(e))
            status, extra, answer = "500 Internal Server Error", [], str(e)
        data = answer.encode()
        head = [f"HTTP/1.1 {status}", f"Content-Length: {len(data)}", "Connection: close"] + extra
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + data)
        await writer.drain()
        writer.close()

    async def route(self, method, path, headers, body):
        log(method, path)
        if self.args.token and headers.get("authorization") != f"Bearer {self.args.token}":
            return "401 Unauthorized", [], "bad token"
        if method == "POST" and path == "/whip":
            if headers.get("content-type") != "application/sdp":
                return "415 Unsupported Media Type", [], "send application/sdp"
            pc = RTCPeerConnection()
            if self.recorder is None:
                self.recorder = Recorder(self.args.record)
            pc.on("track", self.recorder.add)

            @pc.on("connectionstatechange")
            def changed():
                log("connection", pc.connectionState)

            await pc.setRemoteDescription(RTCSessionDescription(body, "offer"))
            await pc.setLocalDescription(await pc.createAnswer())
            session = f"/whip/session/{self.next_id}"
            self.next_id += 1
            self.sessions[session] = pc
            extra = [f"Location: {session}", "Content-Type: application/sdp"]
            if self.args.link:
                extra.append(f"Link: {self.args.link}")
            return "201 Created", extra, pc.localDescription.sdp
        if method == "DELETE" and path in self.sessions:
            await self.sessions.pop(path).close()
            log("ended session", path)
            return "200 OK", [], ""
        log("no such resource:", path)
        return "404 Not Found", [], "no such resource"


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--record", required=True)
    parser.add_argument("--token")
    parser.add_argument("--link")
    args = parser.parse_args()
    endpoint = Endpoint(args)
    server = await asyncio.start_server(endpoint.handle, "127.0.0.1", args.port, reuse_address=True)
    log("listening on", args.port)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    server.close()
    if endpoint.recorder is not None:
        endpoint.recorder.close()
    # No goodbye to the publisher: it must notice by itself.
    os._exit(0)


if __name__ == "__main__":
    asyncio.run(main())
