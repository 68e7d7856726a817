#!/usr/bin/env python3
"""Soak harness: runs avatarcast for a long time under a scripted day of events and
says whether anything kept growing.

  live   (default) a live channel to a real nginx-rtmp on loopback for --minutes, with
         urgent lines, chat comments, unique lines (the speech cache fills to its cap),
         scene and card changes, show reloads, a bad show file, hostile API requests,
         the ingest killed and restarted, and a WebRTC viewer joining and leaving; the
         last minute is quiet.
  churn  (--churn N) N ingest drop/restore cycles in a row, with a short backoff.
  render (--render-hours H) H hours of media rendered as fast as the machine allows,
         into hour-long parts of which the newest few are kept.

Every --sample-seconds it records the process's RSS, open files, threads and CPU, and
(live) the frame counters, the clock drift, the A/V offset and the speech cache. It
writes OUT/samples.csv, OUT/soak.png (gnuplot) and OUT/verdict.json, prints the
verdict, and exits 1 when something kept growing or the stream suffered.

  python3 scripts/soak.py --minutes 120 --out out/soak
  python3 scripts/soak.py --churn 200 --out out/churn
  python3 scripts/soak.py --render-hours 6 --out out/render-soak

Standard library only; needs nginx with the RTMP module, ffprobe, gnuplot (all from
scripts/setup.sh) and, for the viewer, chromium.
"""

import argparse
import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Growth past these (and --rss-slack-mb), from the window's first quarter to its
# last, is a leak (the figures are medians, so one busy sample does not count).
RSS_SLACK_SHARE = 0.05
FD_SLACK = 4
THREAD_SLACK = 2
# The stream may not fall behind the wall clock, nor sound drift from picture.
DRIFT_LIMIT_MS = 500.0
AV_OFFSET_LIMIT_MS = 50.0


def log(msg):
    print(f"[soak {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- the process


def proc_sample(pid):
    """RSS (MB), open files, threads and CPU seconds of a running process."""
    status = open(f"/proc/{pid}/status").read()
    field = lambda name: int(next(l.split()[1] for l in status.splitlines() if l.startswith(name + ":")))
    stat = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return {
        "rss_mb": field("VmRSS") / 1024.0,
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
        "threads": field("Threads"),
        "cpu_s": (int(stat[11]) + int(stat[12])) / ticks,
    }


class Nginx:
    """nginx-rtmp on 127.0.0.1 only, started and killed by pid; it records nothing."""

    def __init__(self, folder):
        self.dir = os.path.join(folder, "nginx")
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        conf = open(os.path.join(REPO, "tests/nginx/nginx.conf.in")).read()
        conf = conf.replace("{dir}", self.dir).replace("{port}", str(self.port)).replace("record all;", "record off;")
        self.conf = os.path.join(self.dir, "nginx.conf")
        open(self.conf, "w").write(conf)
        self.child = None

    def start(self):
        self.child = subprocess.Popen(
            ["nginx", "-p", self.dir, "-e", os.path.join(self.dir, "error.log"), "-c", self.conf],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("nginx did not start: see " + os.path.join(self.dir, "error.log"))

    def kill(self):
        """SIGKILL: connections drop as in a crash."""
        if self.child:
            self.child.kill()
            self.child.wait()
            self.child = None

    def url(self):
        return f"rtmp://127.0.0.1:{self.port}/live/soak"


class Api:
    def __init__(self, port):
        self.base = f"http://127.0.0.1:{port}"

    def call(self, method, path, body=None, content_type="application/json", timeout=10):
        """(HTTP status, body text); status 0 when nothing answered."""
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, r.read().decode(errors="replace")
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(errors="replace")
        except (OSError, urllib.error.URLError) as e:
            return 0, str(e)

    def status(self):
        code, text = self.call("GET", "/v1/status")
        return json.loads(text) if code == 200 else None


def start_avatarcast(args, config, extra_env=None):
    env = dict(os.environ, RUST_LOG=os.environ.get("RUST_LOG", "info"), NO_COLOR="1", **(extra_env or {}))
    out = open(os.path.join(args.out, "avatarcast.log"), "w")
    return subprocess.Popen(config, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)


def wait_ready(api, child, seconds=180):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if child.poll() is not None:
            raise SystemExit(f"avatarcast exited ({child.returncode}) before it was ready: see avatarcast.log")
        if api.call("GET", "/readyz", timeout=2)[0] == 200:
            return
        time.sleep(0.5)
    raise SystemExit("avatarcast was not ready within %d s" % seconds)


def stop(child, seconds=30):
    """SIGINT (the stream ends cleanly), then SIGKILL if it hangs; the exit code."""
    if child.poll() is None:
        child.send_signal(signal.SIGINT)
        try:
            child.wait(seconds)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    return child.returncode


# ---------------------------------------------------------------- configs


def channel_config(args, ingest_url, extra_output=""):
    """The given config with the soak's show copy, speech cache, API and ingest."""
    text = open(os.path.join(REPO, args.config)).read()
    show_src = tomllib.loads(text)["show"]["file"]
    show = os.path.join(args.out, "show.toml")
    shutil.copy(os.path.join(REPO, show_src), show)
    cache = os.path.join(args.out, "speech-cache")
    shutil.rmtree(cache, ignore_errors=True)
    lines = []
    section = ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("["):
            section = stripped
        # The soak brings its own outputs, cache and transcript.
        if section.startswith("[[output") or section == "[output]":
            continue
        if stripped.startswith(("cache_dir", "cache_memory_mb", "cache_disk_mb", "transcript")):
            continue
        lines.append(line.replace(show_src, show))
        if stripped == "[voice]":
            lines += [
                f'cache_dir = "{cache}"',
                f"cache_memory_mb = {args.cache_mb}",
                f"cache_disk_mb = {args.cache_mb * 2}",
            ]
        if stripped == "[show]":
            lines.append(f'transcript = "{os.path.join(args.out, "transcript.jsonl")}"')
    lines += ["", "[output]", f"retry_first_seconds = {args.retry_first}", f"retry_max_seconds = {args.retry_max}"]
    if ingest_url:
        lines += ["", "[[output.rtmp]]", f'url = "{ingest_url}"']
    lines.append(extra_output)
    path = os.path.join(args.out, "config.toml")
    open(path, "w").write("\n".join(lines) + "\n")
    return path


# ---------------------------------------------------------------- the day's events

UNIQUE = [
    "Quick note for everyone who just joined: item {n} of today's list is still in stock.",
    "Someone asked about colour number {n}; it comes in three shades and all of them ship today.",
    "Viewer question {n}: yes, the bundle works with the travel case we showed earlier.",
    "Reminder {n}: the code at the bottom of the card takes a little more off at checkout.",
]


class Day:
    """A scripted day: one event every --event-seconds, in a fixed cycle."""

    CYCLE = ["line", "comment", "scene", "urgent", "card", "hostile", "ingest", "line", "show", "bad_show", "viewer", "gesture"]

    def __init__(self, args, api, nginx):
        self.args, self.api, self.nginx = args, api, nginx
        self.n = 0
        self.counts = {}
        self.problems = []
        self.ingest_back_at = None
        self.viewer = None
        self.products = []
        self.show_text = open(os.path.join(args.out, "show.toml")).read()

    def tick(self, now):
        """Runs what is due: restarts the ingest, ends a viewer, and the next event."""
        if self.ingest_back_at and now >= self.ingest_back_at:
            self.nginx.start()
            self.ingest_back_at = None
        if self.viewer and now >= self.viewer[1]:
            self.viewer[0].kill()
            self.viewer[0].wait()
            shutil.rmtree(self.viewer[2], ignore_errors=True)
            self.viewer = None

    def event(self):
        kind = self.CYCLE[self.n % len(self.CYCLE)]
        self.n += 1
        getattr(self, "do_" + kind)()
        self.counts[kind] = self.counts.get(kind, 0) + 1

    def expect(self, what, code, wanted):
        if code not in wanted:
            self.problems.append(f"{what}: HTTP {code}, expected {sorted(wanted)}")

    def unique_text(self):
        return " ".join(t.format(n=f"{self.n}-{i}") for i, t in enumerate(UNIQUE[:2]))

    def do_line(self):
        self.expect("a unique line", self.api.call("POST", "/v1/say", {"text": self.unique_text()})[0], {202})

    def do_urgent(self):
        code = self.api.call("POST", "/v1/say", {"text": self.unique_text(), "priority": "urgent"})[0]
        self.expect("an urgent line", code, {202})

    def do_comment(self):
        code = self.api.call("POST", "/v1/comments", {"user": f"viewer{self.n}", "text": "how much is it?"})[0]
        self.expect("a chat comment", code, {202})

    def do_scene(self):
        names = (self.api.status() or {}).get("backgrounds") or []
        if names:
            name = names[self.counts.get("scene", 0) % len(names)]
            self.expect("a scene change", self.api.call("PUT", "/v1/scene", {"background": name})[0], {200, 202, 204})

    def do_card(self):
        if not self.products:
            code, text = self.api.call("GET", "/v1/products")
            self.products = [p["id"] for p in json.loads(text)["products"]] if code == 200 else []
        if self.products:
            product = self.products[self.counts.get("card", 0) % len(self.products)]
            self.expect("a card change", self.api.call("PUT", "/v1/overlays/card", {"product": product})[0], {200, 202, 204})

    def do_gesture(self):
        names = ((self.api.status() or {}).get("avatar") or {}).get("gestures") or []
        if names:
            name = names[self.counts.get("gesture", 0) % len(names)]
            self.expect("a gesture", self.api.call("POST", "/v1/gesture", {"name": name})[0], {200, 202, 204})

    def do_show(self):
        code = self.api.call("PUT", "/v1/show", self.show_text.encode(), "application/toml")[0]
        self.expect("a show reload", code, {200})

    def do_bad_show(self):
        # Refused over the API, and a broken file on disk is ignored by the watcher.
        code = self.api.call("PUT", "/v1/show", b"[[products]]\nid = 5\n", "application/toml")[0]
        self.expect("a bad show over the API", code, {400, 422})
        path = os.path.join(self.args.out, "show.toml")
        open(path, "w").write("this is [not a show\n")
        time.sleep(2)
        open(path, "w").write(self.show_text)

    def do_hostile(self):
        big = b'{"text": "' + b"a" * (2 << 20) + b'"}'
        for what, method, path, body, ctype, wanted in [
            ("a 2 MB line", "POST", "/v1/say", big, "application/json", {400, 413}),
            ("cut-off JSON", "POST", "/v1/say", b'{"text": ', "application/json", {400, 422}),
            ("a wrong type", "POST", "/v1/say", b'{"text": 5}', "application/json", {400, 422}),
            ("an unknown priority", "POST", "/v1/say", b'{"text": "hi", "priority": "now!"}', "application/json", {400, 422}),
            ("deep JSON", "POST", "/v1/say", b"[" * 100000, "application/json", {400, 413, 422}),
            ("bytes that are not UTF-8", "PUT", "/v1/show", b"\xff\xfe\x00", "application/toml", {400, 422}),
            ("an unknown background", "PUT", "/v1/scene", b'{"background": "../../etc/passwd"}', "application/json", {400, 404, 422}),
            ("a bogus SDP offer", "POST", "/v1/whep", b"v=0\r\nnonsense", "application/sdp", {400, 422}),
            ("an unknown line", "GET", "/v1/lines/99999999999", None, None, {404}),
        ]:
            self.expect("hostile: " + what, self.api.call(method, path, body, ctype)[0], wanted)
        # Bytes that are not HTTP, and a request that never finishes its headers.
        port = int(self.api.base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(b"\x16\x03\x01garbage\r\n\r\n")
        slow = socket.create_connection(("127.0.0.1", port), timeout=2)
        slow.sendall(b"GET /v1/status HTTP/1.1\r\nHost: x\r\n")
        time.sleep(1)
        slow.close()

    def do_ingest(self):
        self.nginx.kill()
        self.ingest_back_at = time.time() + 8

    def do_viewer(self):
        chromium = shutil.which("chromium")
        if not chromium or self.viewer:
            return
        profile = os.path.join(self.args.out, "chromium-profile")
        child = subprocess.Popen(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required",
             "--no-first-run", f"--user-data-dir={profile}", self.api.base + "/player"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self.viewer = (child, time.time() + 20, profile)

    def close(self):
        if self.viewer:
            self.viewer[0].kill()
            self.viewer[0].wait()
        if self.ingest_back_at:
            self.nginx.start()
            self.ingest_back_at = None


# ---------------------------------------------------------------- the modes


def live(args):
    nginx = Nginx(args.out)
    port = free_port()
    config = channel_config(args, nginx.url())
    nginx.start()
    env = {"AVATARCAST_TEST_KEEP_FRAMES": "1"} if args.plant_leak else {}
    child = start_avatarcast(args, [args.bin, "live", "--config", config, "--api", f"127.0.0.1:{port}"], env)
    api = Api(port)
    samples, day = [], None
    try:
        wait_ready(api, child)
        day = Day(args, api, nginx)
        started = time.time()
        end = started + args.minutes * 60
        # The last stretch has no events, so a viewer or a dropped ingest of the
        # day's end is not mistaken for growth.
        quiet = end - min(60.0, args.minutes * 60 * 0.2)
        next_sample, next_event = started, started + args.event_seconds
        try:
            while time.time() < end and child.poll() is None:
                now = time.time()
                day.tick(now)
                if now >= next_sample:
                    samples.append(live_sample(child.pid, api, now - started))
                    write_csv(samples, os.path.join(args.out, "samples.csv"))
                    next_sample += args.sample_seconds
                if now >= next_event and now < quiet:
                    day.event()
                    next_event += args.event_seconds
                time.sleep(0.2)
        except KeyboardInterrupt:
            log("stopped early (Ctrl-C): judging what was sampled")
        day.close()
        alive = child.poll() is None
        back = alive and wait_outputs_live(api, 30)
        final = api.status() if alive else None
    finally:
        code = stop(child)
        nginx.kill()
    verdict = judge(samples, args)
    verdict["process_survived"] = alive
    verdict["exit_code"] = code
    verdict["ingest_live_at_end"] = back
    verdict["events"] = day.counts if day else {}
    verdict["event_problems"] = day.problems if day else ["never ready"]
    if final:
        verdict["final"] = {k: final.get(k) for k in ("stream_seconds", "late_frames", "repeated_frames", "lines_spoken")}
        verdict["final"]["reconnects"] = sum(o["reconnects"] for o in final["outputs"])
    verdict["failures"] += [p for p in verdict["event_problems"]]
    if not alive:
        verdict["failures"].append("the process died: see avatarcast.log")
    elif not back:
        verdict["failures"].append("the ingest output was not live again at the end")
    return samples, verdict


def live_sample(pid, api, t):
    row = {"t_s": round(t, 1), **proc_sample(pid)}
    s = api.status() or {}
    row["stream_s"] = s.get("stream_seconds", float("nan"))
    row["uptime_s"] = s.get("uptime_seconds", float("nan"))
    row["late_frames"] = s.get("late_frames", 0)
    row["repeated_frames"] = s.get("repeated_frames", 0)
    row["av_offset_ms"] = s.get("av_offset_ms", float("nan"))
    cache = s.get("speech_cache", {})
    row["cache_mb"] = cache.get("memory_bytes", 0) / 1048576
    row["cache_disk_mb"] = cache.get("disk_bytes", 0) / 1048576
    row["outputs_live"] = sum(o["state"] == "live" for o in s.get("outputs", []))
    row["reconnects"] = sum(o["reconnects"] for o in s.get("outputs", []))
    row["dropped_packets"] = sum(o["dropped_packets"] for o in s.get("outputs", []))
    row["viewers"] = s.get("webrtc_viewers") or 0
    return row


def wait_outputs_live(api, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        s = api.status()
        if s and s["outputs"] and all(o["state"] == "live" for o in s["outputs"]):
            return True
        time.sleep(0.1)
    return False


def churn(args):
    nginx = Nginx(args.out)
    port = free_port()
    args.retry_first, args.retry_max = 0.1, 0.5
    config = channel_config(args, nginx.url())
    nginx.start()
    child = start_avatarcast(args, [args.bin, "live", "--config", config, "--api", f"127.0.0.1:{port}"])
    api = Api(port)
    samples, failures = [], []
    try:
        wait_ready(api, child)
        if not wait_outputs_live(api, 30):
            raise SystemExit("the ingest never went live")
        # The channel's own start (the show's first lines, the speech cache filling)
        # is not the churn's doing: the baseline comes after it.
        log(f"warming up for {args.warmup_seconds:.0f} s")
        time.sleep(args.warmup_seconds)
        started = time.time()
        samples.append({"cycle": 0, "t_s": 0.0, **proc_sample(child.pid), "reconnects": 0})
        for cycle in range(1, args.churn + 1):
            nginx.kill()
            wait_for(lambda: not all_live(api), 10)
            nginx.start()
            if not wait_outputs_live(api, 20):
                failures.append(f"cycle {cycle}: the output did not come back within 20 s")
                break
            s = api.status()
            reconnects = sum(o["reconnects"] for o in s["outputs"])
            samples.append({"cycle": cycle, "t_s": round(time.time() - started, 1), **proc_sample(child.pid), "reconnects": reconnects})
            if cycle % 20 == 0:
                log(f"cycle {cycle}: {samples[-1]['fds']} files, {samples[-1]['threads']} threads, {samples[-1]['rss_mb']:.0f} MB")
        # Let the last teardown finish, then compare with the start.
        time.sleep(3)
        settled = {"cycle": args.churn, "t_s": round(time.time() - started, 1), **proc_sample(child.pid), "reconnects": samples[-1]["reconnects"]}
        samples.append(settled)
    finally:
        code = stop(child)
        nginx.kill()
    # The baseline is after the first drop: GStreamer's task pool keeps one idle
    # worker thread from the first torn-down pipeline for the next (a thread named
    # taskN), once; what matters is that nothing grows after that.
    before, base = samples[0], samples[min(1, len(samples) - 1)]
    verdict = {
        "mode": "churn",
        "cycles": len(samples) - 2,
        "reconnects": settled["reconnects"],
        "seconds": settled["t_s"],
        "before_first_drop": {k: before[k] for k in ("rss_mb", "fds", "threads")},
        "baseline": {k: base[k] for k in ("rss_mb", "fds", "threads")},
        "end": {k: settled[k] for k in ("rss_mb", "fds", "threads")},
        "peak": {k: max(s[k] for s in samples) for k in ("rss_mb", "fds", "threads")},
        "rss_mb_per_100_cycles": round(slope_per_hour([s["cycle"] for s in samples], [s["rss_mb"] for s in samples]) / 36, 2),
        "warmup_s": args.warmup_seconds,
        "exit_code": code,
        "failures": failures,
    }
    # A leak grows with the cycles; one fewer than a baseline that caught a
    # socket mid-teardown is not one.
    if settled["fds"] > base["fds"]:
        failures.append(f"open files {base['fds']} -> {settled['fds']} after {args.churn} cycles")
    if settled["threads"] > base["threads"]:
        failures.append(f"threads {base['threads']} -> {settled['threads']} after {args.churn} cycles")
    if settled["rss_mb"] - base["rss_mb"] > args.rss_slack_mb:
        failures.append(f"RSS {base['rss_mb']:.0f} -> {settled['rss_mb']:.0f} MB after {args.churn} cycles")
    if settled["reconnects"] < args.churn:
        failures.append(f"{settled['reconnects']} reconnects counted for {args.churn} drops")
    return samples, verdict


def all_live(api):
    s = api.status()
    return bool(s) and all(o["state"] == "live" for o in s["outputs"])


def wait_for(cond, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline and not cond():
        time.sleep(0.05)


def render(args):
    parts = os.path.join(args.out, "parts")
    shutil.rmtree(parts, ignore_errors=True)
    output = f'[[output.file]]\npath = "{parts}/part.mkv"\nsplit_minutes = 60\nkeep_gb = {args.keep_gb}\n'
    config = channel_config(args, None, output)
    child = start_avatarcast(args, [args.bin, "render", "--config", config, "--duration", f"{args.render_hours}h"])
    samples = []
    started = time.time()
    while child.poll() is None:
        try:
            samples.append({"t_s": round(time.time() - started, 1), **proc_sample(child.pid)})
        except (FileNotFoundError, ProcessLookupError):
            break
        time.sleep(args.sample_seconds)
    code = child.wait()
    verdict = judge(samples, args)
    verdict["mode"] = "render"
    verdict["exit_code"] = code
    verdict["media_hours"] = args.render_hours
    verdict["wall_hours"] = round((time.time() - started) / 3600, 3)
    offsets = []
    for name in sorted(os.listdir(parts)):
        (v0, v), (a0, a) = stream_span(os.path.join(parts, name))
        offsets.append({"part": name, "video_s": [v0, v], "audio_s": [a0, a],
                        "start_offset_ms": round((a0 - v0) * 1000, 1), "end_offset_ms": round((a - v) * 1000, 1)})
    verdict["parts"] = offsets
    worst = max((max(abs(p["start_offset_ms"]), abs(p["end_offset_ms"])) for p in offsets), default=None)
    verdict["worst_part_av_offset_ms"] = worst
    if code != 0:
        verdict["failures"].append(f"render exited {code}: see avatarcast.log")
    if worst is None or worst > AV_OFFSET_LIMIT_MS:
        verdict["failures"].append(f"parts' sound and picture differ by up to {worst} ms")
    return samples, verdict


def stream_span(path):
    """((first, end) of the video, (first, end) of the audio) in seconds: the first
    packet's time and the last packet's end of each track."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "packet=codec_type,pts_time,duration_time", "-of", "csv=p=0", path],
        capture_output=True, text=True,
    ).stdout
    starts, ends = {"video": float("inf"), "audio": float("inf")}, {"video": 0.0, "audio": 0.0}
    for line in out.splitlines():
        kind, pts, dur = (line.split(",") + ["", ""])[:3]
        if kind in ends and pts not in ("", "N/A"):
            starts[kind] = min(starts[kind], float(pts))
            ends[kind] = max(ends[kind], float(pts) + (float(dur) if dur not in ("", "N/A") else 0.0))
    return tuple((round(starts[k], 3), round(ends[k], 3)) for k in ("video", "audio"))


# ---------------------------------------------------------------- the verdict


def slope_per_hour(xs_s, ys):
    n = len(xs_s)
    if n < 2:
        return 0.0
    mx, my = sum(xs_s) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs_s)
    return 0.0 if sxx == 0 else sum((x - mx) * (y - my) for x, y in zip(xs_s, ys)) / sxx * 3600


def median(v):
    v = sorted(v)
    return v[len(v) // 2] if v else float("nan")


def judge(samples, args):
    """Slopes over the window after warm-up, and what kept growing."""
    warm = min(args.warmup_seconds, args.minutes * 60 * 0.25) if args.render_hours is None else args.warmup_seconds
    window = [s for s in samples if s["t_s"] >= warm]
    verdict = {"mode": "live", "samples": len(samples), "window_samples": len(window), "warmup_s": warm, "failures": []}
    if len(window) < 8:
        verdict["failures"].append(f"only {len(window)} samples after warm-up: run longer")
        return verdict
    t = [s["t_s"] for s in window]
    quarter = max(2, len(window) // 4)
    first, last = window[:quarter], window[-quarter:]
    for key, slack in (("rss_mb", None), ("fds", FD_SLACK), ("threads", THREAD_SLACK), ("cache_mb", None)):
        if key not in window[0]:
            continue
        ys = [s[key] for s in window]
        rise = median([s[key] for s in last]) - median([s[key] for s in first])
        verdict[key] = {"slope_per_hour": round(slope_per_hour(t, ys), 2), "first": round(median([s[key] for s in first]), 1),
                        "last": round(median([s[key] for s in last]), 1), "max": round(max(ys), 1), "rise": round(rise, 1)}
        if key == "rss_mb":
            slack = max(args.rss_slack_mb, RSS_SLACK_SHARE * verdict[key]["first"])
        if slack is not None and rise > slack:
            verdict["failures"].append(f"{key} kept growing: {verdict[key]['first']} -> {verdict[key]['last']} "
                                       f"({verdict[key]['slope_per_hour']} an hour)")
    cpu = [s["cpu_s"] for s in window]
    verdict["cores"] = round((cpu[-1] - cpu[0]) / max(1e-9, t[-1] - t[0]), 3)
    if "stream_s" in window[0]:
        lag = [(s["uptime_s"] - s["stream_s"]) * 1000 for s in window]
        verdict["drift_ms"] = round(lag[-1] - lag[0], 1)
        verdict["worst_av_offset_ms"] = max(abs(s["av_offset_ms"]) for s in window)
        verdict["late_frames"] = window[-1]["late_frames"]
        verdict["repeated_frames"] = window[-1]["repeated_frames"]
        if abs(verdict["drift_ms"]) > DRIFT_LIMIT_MS:
            verdict["failures"].append(f"the stream drifted {verdict['drift_ms']} ms from the wall clock")
        if verdict["worst_av_offset_ms"] > AV_OFFSET_LIMIT_MS:
            verdict["failures"].append(f"sound and picture apart by up to {verdict['worst_av_offset_ms']} ms")
    return verdict


def write_csv(samples, path):
    keys = list(dict.fromkeys(k for s in samples for k in s))
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        for s in samples:
            w.writerow({k: (round(v, 3) if isinstance(v, float) else v) for k, v in s.items()})


def plot(samples, verdict, out):
    """A PNG of memory, files and threads (and the stream's counters, live)."""
    if not shutil.which("gnuplot") or not samples:
        log("gnuplot missing: no plot (run scripts/setup.sh)")
        return
    csv_path = os.path.join(out, "samples.csv")
    keys = list(dict.fromkeys(k for s in samples for k in s))
    col = lambda k: keys.index(k) + 1
    x = "cycle" if "cycle" in keys else "t_s"
    xscale = "1" if x == "cycle" else "3600.0"
    xlabel = "cycle" if x == "cycle" else "hours"
    panels = [("RSS (MB)", [("rss_mb", "RSS")] + ([("cache_mb", "speech cache (memory)")] if "cache_mb" in keys else [])),
              ("count", [("fds", "open files"), ("threads", "threads")])]
    if "late_frames" in keys:
        panels.append(("frames / ms", [("late_frames", "late frames"), ("repeated_frames", "repeated pictures"), ("av_offset_ms", "A/V offset (ms)")]))
    title = f"avatarcast soak ({verdict.get('mode')}): " + ("PASS" if not verdict["failures"] else "FAIL")
    script = [
        "set terminal pngcairo size 1400,%d font ',11'" % (330 * len(panels)),
        f"set output '{os.path.join(out, 'soak.png')}'",
        "set datafile separator ','", "set key outside right", "set grid",
        f"set multiplot layout {len(panels)},1 title '{title}'",
    ]
    for ylabel, series in panels:
        script.append(f"set ylabel '{ylabel}'; set xlabel '{xlabel}'")
        plots = [f"'{csv_path}' using (${col(x)}/{xscale}):{col(k)} every ::1 with lines lw 2 title '{t}'" for k, t in series]
        script.append("plot " + ", ".join(plots))
    script.append("unset multiplot")
    subprocess.run(["gnuplot"], input="\n".join(script), text=True, check=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="folder for samples.csv, soak.png, verdict.json and the logs")
    ap.add_argument("--minutes", type=float, default=5.0, help="live mode: how long the channel runs")
    ap.add_argument("--churn", type=int, help="churn mode: this many ingest drop/restore cycles")
    ap.add_argument("--render-hours", type=float, help="render mode: this many hours of media")
    ap.add_argument("--config", default="config/demo.toml", help="the channel (its outputs are replaced)")
    ap.add_argument("--bin", default=os.path.join(REPO, "target/release/avatarcast"))
    ap.add_argument("--sample-seconds", type=float, default=10.0)
    ap.add_argument("--event-seconds", type=float, default=15.0)
    ap.add_argument("--warmup-seconds", type=float, help="left out of the verdict while caches fill (default: live 120, churn 90, render 300)")
    ap.add_argument("--cache-mb", type=int, default=8, help="the speech cache's memory cap (disk: twice this)")
    ap.add_argument("--keep-gb", type=float, default=2.0, help="render mode: parts kept on disk")
    ap.add_argument("--rss-slack-mb", type=float, default=24.0,
                    help="RSS growth tolerated after warm-up (short runs cannot tell a cache settling from a slow leak)")
    ap.add_argument("--plant-leak", action="store_true", help="keep one picture a second in the process (the harness must catch it)")
    args = ap.parse_args()
    args.out = os.path.abspath(args.out)
    args.retry_first, args.retry_max = 2.0, 6.0
    if args.warmup_seconds is None:
        args.warmup_seconds = 90.0 if args.churn else 300.0 if args.render_hours else 120.0
    os.makedirs(args.out, exist_ok=True)
    if args.churn:
        samples, verdict = churn(args)
    elif args.render_hours:
        samples, verdict = render(args)
    else:
        log(f"live soak for {args.minutes} min into {args.out}" + (" with a planted leak" if args.plant_leak else ""))
        samples, verdict = live(args)
    write_csv(samples, os.path.join(args.out, "samples.csv"))
    verdict["passed"] = not verdict["failures"]
    json.dump(verdict, open(os.path.join(args.out, "verdict.json"), "w"), indent=2)
    plot(samples, verdict, args.out)
    print(json.dumps(verdict, indent=2))
    log("PASS" if verdict["passed"] else "FAIL: " + "; ".join(verdict["failures"]))
    sys.exit(0 if verdict["passed"] else 1)


if __name__ == "__main__":
    main()
