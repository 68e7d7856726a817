// avatarcast WHEP player (served at /player.js; used by /player and /console).
// Plays the stream from POST /v1/whep in a <video>; comes back by itself when the
// connection drops. With {latency: true} it reads the latency marker the stream
// draws (video.latency_marker) and keeps glass-to-glass figures in player.latencies.
"use strict";

function avatarcastPlayer(video, options) {
  options = options || {};
  const token = new URLSearchParams(location.search).get("token");
  const auth = token ? { Authorization: "Bearer " + token } : {};
  const player = { pc: null, session: null, state: "connecting", latencies: [], markerFrames: 0, onstate: options.onstate || (() => {}) };
  const setState = (s) => { player.state = s; player.onstate(s); };

  async function connect() {
    const pc = new RTCPeerConnection();
    player.pc = pc;
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.addTransceiver("audio", { direction: "recvonly" });
    const stream = new MediaStream();
    pc.ontrack = (e) => { stream.addTrack(e.track); video.srcObject = stream; video.play().catch(() => {}); };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === "connected") setState("playing");
      if (["failed", "disconnected", "closed"].includes(pc.connectionState) && player.pc === pc) retry();
    };
    await pc.setLocalDescription(await pc.createOffer());
    // WHEP answers in one round trip: send the offer with its candidates.
    await new Promise((done) => {
      if (pc.iceGatheringState === "complete") return done();
      pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && done());
      setTimeout(done, 2000);
    });
    const r = await fetch("/v1/whep", { method: "POST", headers: Object.assign({ "Content-Type": "application/sdp" }, auth), body: pc.localDescription.sdp });
    if (r.status !== 201) throw new Error("WHEP " + r.status + ": " + (await r.text()));
    player.session = r.headers.get("Location");
    await pc.setRemoteDescription({ type: "answer", sdp: await r.text() });
  }

  function close() {
    if (player.session) fetch(player.session, { method: "DELETE", headers: auth, keepalive: true }).catch(() => {});
    player.session = null;
    if (player.pc) player.pc.close();
    player.pc = null;
  }

  function retry() {
    close();
    setState("reconnecting");
    setTimeout(start, 2000);
  }

  function start() {
    connect().catch((e) => { setState("error: " + e.message); retry(); });
  }

  // The marker: 2 rows of 16 blocks of 12 px in the top-right corner, bit 0 first,
  // holding the sender's clock in ms (low 32 bits) when the frame was drawn.
  if (options.latency && "requestVideoFrameCallback" in HTMLVideoElement.prototype) {
    const BLOCK = 12, COLUMNS = 16;
    const canvas = document.createElement("canvas");
    canvas.width = COLUMNS * BLOCK; canvas.height = 2 * BLOCK;
    const ctx = canvas.getContext("2d", { willReadFrequently: true });
    const onFrame = (now, meta) => {
      const shown = performance.timeOrigin + meta.expectedDisplayTime;
      ctx.drawImage(video, video.videoWidth - canvas.width, 0, canvas.width, canvas.height, 0, 0, canvas.width, canvas.height);
      const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
      let value = 0;
      for (let bit = 0; bit < 32; bit++) {
        const x = (bit % COLUMNS) * BLOCK + BLOCK / 2, y = Math.floor(bit / COLUMNS) * BLOCK + BLOCK / 2;
        if (px[(y * canvas.width + x) * 4 + 1] > 127) value += 2 ** bit;
      }
      const latency = (Math.round(shown) - value) % 2 ** 32;
      player.markerFrames++;
      if (latency >= 0 && latency < 60000) player.latencies.push(latency);
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  }

  addEventListener("pagehide", close);
  player.stop = close;
  start();
  return player;
}
