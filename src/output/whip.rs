//! WebRTC ingest over WHIP (RFC 9725): Cloudflare Stream, LiveKit Ingress, Dolby
//! OptiView, Amazon IVS and media servers take it. The one H.264 encode as it is and
//! the Opus track (made for WebRTC) are pushed with webrtc-rs: our offer is POSTed with
//! the bearer token, the endpoint answers 201 with the session's Location (DELETEd when
//! we stop) and may name ICE servers in Link headers. The supervisor (supervisor.rs)
//! restarts a failed session like any other output's, with the same backoff.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use gstreamer as gst;
use webrtc::ice_transport::ice_server::RTCIceServer;
use webrtc::peer_connection::RTCPeerConnection;
use webrtc::peer_connection::configuration::RTCConfiguration;
use webrtc::peer_connection::peer_connection_state::RTCPeerConnectionState;
use webrtc::peer_connection::sdp::session_description::RTCSessionDescription;
use webrtc::rtp_transceiver::RTCRtpTransceiverInit;
use webrtc::rtp_transceiver::rtp_transceiver_direction::RTCRtpTransceiverDirection;
use webrtc::track::track_local::TrackLocal;
use webrtc::track::track_local::track_local_static_sample::TrackLocalStaticSample;

use super::session::{Policy, Session};
use crate::config::WhipOutputConfig;
use super::health::{Health, State};
use crate::config::H264Profile;
use super::packet::{KeyframeGate, Track};
use super::webrtc as rtc;

/// Time to gather our ICE candidates before the offer goes out (WHIP sends it whole).
const GATHER_TIMEOUT: Duration = Duration::from_secs(5);
/// The endpoint's HTTP answer, and the DELETE at the end.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
const DELETE_TIMEOUT: Duration = Duration::from_secs(2);
/// From the endpoint's answer to ICE and DTLS up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Path segments this long are taken for keys and masked in logs (Cloudflare puts the
/// key in the path; "whip", "publish", a stream name stay readable).
const SECRET_SEGMENT: usize = 16;

#[derive(Clone)]
pub struct WhipTarget {
    pub url: String,
    token: Option<String>,
    /// ICE servers the endpoint named in its Link headers: the sessions after use them.
    ice_servers: Arc<Mutex<Vec<RTCIceServer>>>,
    /// The encoder's H.264 profile: what the offer holds.
    pub profile: H264Profile,
}

impl std::fmt::Debug for WhipTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl WhipTarget {
    /// Checks `config` (`at` names it in errors: `output.whip[0]`).
    pub fn new(config: &WhipOutputConfig, at: &str) -> Result<WhipTarget> {
        let url = config.url.trim();
        let Some((_, rest)) = url.split_once("://").filter(|(scheme, _)| matches!(*scheme, "http" | "https")) else {
            bail!("`{at}.url`: `{}` is not a WHIP endpoint; write https://host/path as the platform gives it", mask(url));
        };
        let authority = rest.split(['/', '?']).next().unwrap_or_default();
        if authority.is_empty() || url.contains(|c: char| c.is_whitespace() || c == '"') {
            bail!("`{at}.url`: `{}` has no host, or spaces or quotes; copy it again from the platform", mask(url));
        }
        if config.token_env.is_some() && config.token.is_none() {
            bail!("`{at}.token_env`: the token was not read; load the config with Config::load");
        }
        let profile = H264Profile::ConstrainedBaseline;
        Ok(WhipTarget { url: url.to_string(), token: config.token.clone(), ice_servers: Arc::default(), profile })
    }

    /// Safe to log: long path segments and the query are masked, the token never shown.
    pub fn describe(&self) -> String {
        format!("WHIP {}", mask(&self.url))
    }

    fn explain(&self, why: &str) -> String {
        format!("{}: {why}", self.describe())
    }

    /// Endpoints that take none of the offered codecs answer 400, 406, 415, 422, 488 or,
    /// often, 500: say what was offered and what else could be.
    fn codec_hint(&self, code: u16) -> String {
        if !matches!(code, 400 | 406 | 415 | 422 | 488 | 500) {
            return String::new();
        }
        let other = match self.profile {
            H264Profile::Main => "; Main is all a `video.profile = \"main\"` stream can offer, set `video.profile = \"auto\"` to offer Constrained Baseline too",
            _ => "; the endpoint may take another video codec only",
        };
        format!(" (if the endpoint takes none of the offered codecs: the offer holds {}{other})", rtc::offered(self.profile))
    }

    /// The answer takes our video and sound (an endpoint may answer 201 and still
    /// reject a media section, port 0, or answer with codecs we did not offer).
    fn check_answer(&self, answer: &str) -> Result<(), String> {
        for (kind, codec) in [("video", "H264/90000"), ("audio", "opus/48000")] {
            // Each piece after a "\nm=" is one media section, whole.
            let section = answer.split("\nm=").skip(1).find(|m| m.starts_with(kind));
            let taken = section.is_some_and(|m| {
                let port = m.split_whitespace().nth(1);
                port != Some("0") && m.lines().any(|l| l.starts_with("a=rtpmap:") && l.to_ascii_lowercase().contains(&codec.to_ascii_lowercase()))
            });
            if !taken {
                return Err(self.explain(&format!(
                    "the endpoint refused our {kind}: its answer takes none of {} ({})",
                    rtc::offered(self.profile),
                    section.map_or("no such section".to_string(), |m| m.lines().filter(|l| l.starts_with("a=rtpmap:")).collect::<Vec<_>>().join(", ")),
                )));
            }
        }
        Ok(())
    }

    /// POSTs the offer; returns the answer and the session's URL.
    fn publish(&self, agent: &ureq::Agent, offer: &str) -> Result<(String, String), String> {
        let mut request = agent.post(&self.url).set("Content-Type", "application/sdp");
        if let Some(token) = &self.token {
            request = request.set("Authorization", &format!("Bearer {token}"));
        }
        let response = request.send_string(offer).map_err(|e| match e {
            ureq::Error::Status(code @ (401 | 403), _) => {
                self.explain(&format!("the endpoint refused the token (HTTP {code}); check the variable `token_env` names"))
            }
            ureq::Error::Status(404, _) => self.explain("the endpoint does not exist (HTTP 404); check `url`"),
            ureq::Error::Status(code, r) => {
                let body: String = r.into_string().unwrap_or_default().chars().take(200).collect();
                self.explain(&format!("the endpoint answered HTTP {code}: {}{}", body.trim(), self.codec_hint(code)))
            }
            ureq::Error::Transport(t) => self.explain(&format!("no WHIP endpoint answered ({t})")),
        })?;
        if response.status() != 201 {
            return Err(self.explain(&format!("the endpoint answered HTTP {} to the offer, not 201 Created", response.status())));
        }
        let location = response.header("location").map(|l| resolve(&self.url, l));
        let servers: Vec<RTCIceServer> = response.all("link").iter().flat_map(|l| ice_servers(l)).collect();
        if !servers.is_empty() {
            let mut known = self.ice_servers.lock().unwrap_or_else(|p| p.into_inner());
            if *known != servers {
                tracing::info!(output = %self.describe(), "the endpoint names {} ICE server(s): used from the next connection on", servers.len());
                *known = servers;
            }
        }
        let Some(location) = location else {
            return Err(self.explain("the endpoint's 201 has no Location header (RFC 9725 requires one)"));
        };
        let answer = response.into_string().map_err(|e| self.explain(&format!("reading the endpoint's answer: {e}")))?;
        Ok((answer, location))
    }
}

/// The URL for logs: path segments of SECRET_SEGMENT characters or more and the query
/// become ****.
fn mask(url: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, false), |(b, _)| (b, true));
    let (scheme, rest) = base.split_once("://").unwrap_or(("", base));
    let mut parts = rest.split('/');
    let mut out = format!("{scheme}://{}", parts.next().unwrap_or_default());
    for segment in parts {
        out.push('/');
        out.push_str(if segment.chars().count() >= SECRET_SEGMENT { "****" } else { segment });
    }
    if query {
        out.push_str("?****");
    }
    if scheme.is_empty() { out.trim_start_matches("://").to_string() } else { out }
}

/// `location` (absolute, or relative to the endpoint) as a URL.
fn resolve(endpoint: &str, location: &str) -> String {
    if location.starts_with("http://") || location.starts_with("https://") {
        return location.to_string();
    }
    let (scheme, rest) = endpoint.split_once("://").unwrap_or(("https", endpoint));
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    if location.starts_with('/') {
        return format!("{scheme}://{authority}{location}");
    }
    let path = rest.split('?').next().unwrap_or_default();
    let dir = path.rsplit_once('/').map_or(authority, |(d, _)| d);
    format!("{scheme}://{dir}/{location}")
}

/// The ICE servers in one Link header (RFC 9725 §4.6):
/// `<turn:h?transport=udp>; rel="ice-server"; username="u"; credential="c"`, several
/// separated by commas.
fn ice_servers(header: &str) -> Vec<RTCIceServer> {
    let mut out = Vec::new();
    for link in split_outside_quotes(header, ',') {
        let link = link.trim();
        let Some((url, params)) = link.strip_prefix('<').and_then(|l| l.split_once('>')) else { continue };
        let mut rel_ice = false;
        let mut server = RTCIceServer { urls: vec![url.trim().to_string()], ..Default::default() };
        for param in split_outside_quotes(params, ';') {
            let Some((key, value)) = param.split_once('=') else { continue };
            let value = value.trim().trim_matches('"').to_string();
            match key.trim().to_ascii_lowercase().as_str() {
                "rel" => rel_ice = value.split_whitespace().any(|r| r.eq_ignore_ascii_case("ice-server")),
                "username" => server.username = value,
                "credential" => server.credential = value,
                _ => {}
            }
        }
        if rel_ice {
            out.push(server);
        }
    }
    out
}

fn split_outside_quotes(s: &str, sep: char) -> Vec<&str> {
    let (mut parts, mut start, mut quoted, mut bracketed) = (Vec::new(), 0, false, false);
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '<' if !quoted => bracketed = true,
            '>' if !quoted => bracketed = false,
            c if c == sep && !quoted && !bracketed => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

/// One WHIP session: a peer connection on its own small runtime, from the POST of the
/// offer to the DELETE of its Location.
pub struct WhipSession {
    target: WhipTarget,
    runtime: tokio::runtime::Runtime,
    pc: Arc<RTCPeerConnection>,
    video: Arc<TrackLocalStaticSample>,
    audio: Arc<TrackLocalStaticSample>,
    resource: String,
    agent: ureq::Agent,
    state: Arc<Mutex<RTCPeerConnectionState>>,
    gate: KeyframeGate,
    ready: Vec<(Track, gst::Buffer)>,
    answered: Instant,
    live: bool,
    sent: u64,
}

impl WhipSession {
    pub fn start(target: &WhipTarget) -> Result<WhipSession> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("whip")
            .enable_all()
            .build()
            .context("starting the WHIP runtime")?;
        let ice_servers = target.ice_servers.lock().map(|s| s.clone()).unwrap_or_default();
        let state = Arc::new(Mutex::new(RTCPeerConnectionState::New));
        let video = Arc::new(TrackLocalStaticSample::new(rtc::h264_payloads(target.profile).remove(0), "video".into(), "avatarcast".into()));
        let audio = Arc::new(TrackLocalStaticSample::new(rtc::opus(), "audio".into(), "avatarcast".into()));
        let (pc, offer) = runtime.block_on(offer(target.profile, ice_servers, [video.clone(), audio.clone()], state.clone())).map_err(|e| anyhow!(target.explain(&format!("{e:#}"))))?;
        let agent = ureq::AgentBuilder::new().timeout(HTTP_TIMEOUT).build();
        let answered = target.publish(&agent, &offer).and_then(|(answer, resource)| {
            target.check_answer(&answer)?;
            let description = RTCSessionDescription::answer(answer).map_err(|e| target.explain(&format!("the endpoint's answer is not SDP: {e}")))?;
            runtime
                .block_on(pc.set_remote_description(description))
                .map_err(|e| target.explain(&format!("the endpoint's answer cannot be used (does it take H.264 and Opus?): {e}")))
                .map(|()| resource)
        });
        let resource = match answered {
            Ok(r) => r,
            Err(e) => {
                runtime.block_on(async { tokio::time::timeout(DELETE_TIMEOUT, pc.close()).await.ok() });
                runtime.shutdown_background();
                bail!(e);
            }
        };
        Ok(WhipSession {
            target: target.clone(),
            runtime,
            pc,
            video,
            audio,
            resource,
            agent,
            state,
            gate: KeyframeGate::default(),
            ready: Vec::new(),
            answered: Instant::now(),
            live: false,
            sent: 0,
        })
    }

    fn state(&self) -> RTCPeerConnectionState {
        *self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Ends the session at the endpoint (DELETE of its Location) and here.
    fn close(self) {
        let mut request = self.agent.delete(&self.resource).timeout(DELETE_TIMEOUT);
        if let Some(token) = &self.target.token {
            request = request.set("Authorization", &format!("Bearer {token}"));
        }
        if let Err(e) = request.call() {
            tracing::debug!(output = %self.target.describe(), "DELETE of the session: {e}");
        }
        let pc = self.pc;
        self.runtime.block_on(async { tokio::time::timeout(DELETE_TIMEOUT, pc.close()).await.ok() });
        self.runtime.shutdown_background();
    }
}

/// A send-only peer connection with our two tracks, and its offer with every ICE
/// candidate in it.
async fn offer(
    profile: H264Profile,
    ice_servers: Vec<RTCIceServer>,
    tracks: [Arc<TrackLocalStaticSample>; 2],
    state: Arc<Mutex<RTCPeerConnectionState>>,
) -> Result<(Arc<RTCPeerConnection>, String)> {
    let config = RTCConfiguration { ice_servers, ..Default::default() };
    let pc = Arc::new(rtc::api(profile)?.new_peer_connection(config).await.context("new peer connection")?);
    for track in tracks {
        let init = RTCRtpTransceiverInit { direction: RTCRtpTransceiverDirection::Sendonly, send_encodings: Vec::new() };
        let transceiver = pc.add_transceiver_from_track(track as Arc<dyn TrackLocal + Send + Sync>, Some(init)).await.context("adding a track")?;
        let sender = transceiver.sender().await;
        // RTCP must be read for the interceptors (NACK, reports) to work.
        tokio::spawn(async move { while sender.read_rtcp().await.is_ok() {} });
    }
    pc.on_peer_connection_state_change(Box::new(move |s| {
        *state.lock().unwrap_or_else(|p| p.into_inner()) = s;
        Box::pin(async {})
    }));
    let offer = pc.create_offer(None).await.context("making the offer")?;
    let mut gathered = pc.gathering_complete_promise().await;
    pc.set_local_description(offer).await.context("setting the offer")?;
    let _ = tokio::time::timeout(GATHER_TIMEOUT, gathered.recv()).await;
    let sdp = pc.local_description().await.ok_or_else(|| anyhow!("no local description"))?.sdp;
    Ok((pc, sdp))
}

impl Session for WhipSession {
    fn push(&mut self, track: Track, buffer: gst::Buffer) -> Result<(), String> {
        // Until ICE and DTLS are up nothing can be sent; the gate then waits for a keyframe.
        if !self.live {
            return Ok(());
        }
        self.gate.pass(track, buffer, &mut self.ready);
        for (track, buffer) in self.ready.drain(..) {
            let Some(sample) = rtc::sample(track, &buffer) else { continue };
            let out = if track == Track::H264 { &self.video } else { &self.audio };
            self.runtime.block_on(out.write_sample(&sample)).map_err(|e| self.target.explain(&format!("sending failed: {e}")))?;
            self.sent += sample.data.len() as u64;
        }
        Ok(())
    }

    fn resync(&mut self) {
        self.gate.reset();
    }

    fn check(&mut self, health: &Health, _policy: &Policy) -> Result<()> {
        health.bytes.store(self.sent, std::sync::atomic::Ordering::Relaxed);
        match self.state() {
            RTCPeerConnectionState::Connected if !self.live => {
                self.live = true;
                health.set(State::Live);
                tracing::info!(output = %health.name, "output live");
            }
            RTCPeerConnectionState::Connected => {}
            s @ (RTCPeerConnectionState::Disconnected | RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed) => {
                bail!(self.target.explain(&format!("the connection to the endpoint was lost (WebRTC {s})")));
            }
            _ if self.answered.elapsed() > CONNECT_TIMEOUT => {
                bail!(self.target.explain(&format!(
                    "no WebRTC connection within {} s of the endpoint's answer: ICE could not reach it (is UDP open between here and the endpoint?)",
                    CONNECT_TIMEOUT.as_secs()
                )));
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(self: Box<Self>) {
        self.close();
    }

    /// The endpoint may be gone (its DELETE waits for a timeout): on a thread of its own.
    fn abandon(self: Box<Self>) {
        let _ = std::thread::Builder::new().name("out-teardown".into()).spawn(move || self.close());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_and_keys_stay_out_of_logs() {
        let config = |url: &str| WhipOutputConfig { url: url.into(), token_env: None, token: None };
        let t = WhipTarget::new(&config("https://customer-x.cloudflarestream.com/3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c/webRTC/publish"), "output.whip[0]").unwrap();
        assert_eq!(t.describe(), "WHIP https://customer-x.cloudflarestream.com/****/webRTC/publish");
        let t = WhipTarget::new(&config("http://127.0.0.1:8080/whip/live?key=abc"), "output.whip[0]").unwrap();
        assert_eq!(t.describe(), "WHIP http://127.0.0.1:8080/whip/live?****");
        for (url, says) in [("rtmp://h/app/key", "not a WHIP endpoint"), ("https:///whip", "no host"), ("https://h/a b", "spaces")] {
            let e = format!("{:#}", WhipTarget::new(&config(url), "output.whip[1]").unwrap_err());
            assert!(e.contains("output.whip[1].url") && e.contains(says), "{url}: {e}");
        }
        let secret = WhipOutputConfig { token: Some("tok-secret".into()), token_env: Some("T".into()), ..config("https://h/whip") };
        let t = WhipTarget::new(&secret, "output.whip[0]").unwrap();
        assert!(!format!("{t:?} {}", t.describe()).contains("tok-secret"));
    }

    #[test]
    fn locations_resolve_against_the_endpoint() {
        assert_eq!(resolve("https://h:8443/whip/ep?x=1", "/whip/resource/7"), "https://h:8443/whip/resource/7");
        assert_eq!(resolve("https://h/whip/ep", "resource/7"), "https://h/whip/resource/7");
        assert_eq!(resolve("https://h/whip/ep", "https://other/r/7"), "https://other/r/7");
    }

    #[test]
    fn ice_servers_are_read_from_link_headers() {
        let servers = ice_servers(
            r#"<stun:stun.example.net>; rel="ice-server", <turn:turn.example.net?transport=udp>; rel="ice-server"; username="user"; credential="my;pass,word"; credential-type="password", <https://h/doc>; rel="help""#,
        );
        assert_eq!(servers.len(), 2);
        assert_eq!(servers[0].urls, vec!["stun:stun.example.net".to_string()]);
        assert_eq!(servers[1].urls, vec!["turn:turn.example.net?transport=udp".to_string()]);
        assert_eq!((servers[1].username.as_str(), servers[1].credential.as_str()), ("user", "my;pass,word"));
        assert!(ice_servers("<https://h/x>; rel=\"next\"").is_empty());
    }
}
