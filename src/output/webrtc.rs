//! WebRTC playback over WHEP: a viewer POSTs an SDP offer, gets the answer (201 +
//! Location to DELETE), and receives the one H.264 encode as it is, with the audio
//! as Opus (browsers take no AAC). Each viewer starts on a keyframe. WebRTC runs on
//! its own tokio runtime, so viewers can never slow the control API or the stream.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use bytes::Bytes;
use crossbeam_channel::Receiver;
use gstreamer as gst;
use webrtc::api::interceptor_registry::register_default_interceptors;
use webrtc::api::media_engine::{MIME_TYPE_H264, MIME_TYPE_OPUS, MediaEngine};
use webrtc::api::setting_engine::SettingEngine;
use webrtc::api::{API, APIBuilder};
use webrtc::interceptor::registry::Registry;
use webrtc::media::Sample;
use webrtc::peer_connection::RTCPeerConnection;
use webrtc::peer_connection::configuration::RTCConfiguration;
use webrtc::peer_connection::peer_connection_state::RTCPeerConnectionState;
use webrtc::peer_connection::sdp::session_description::RTCSessionDescription;
use webrtc::rtp_transceiver::rtp_codec::{RTCRtpCodecCapability, RTCRtpCodecParameters, RTPCodecType};
use webrtc::rtp_transceiver::RTCPFeedback;
use webrtc::track::track_local::TrackLocal;
use webrtc::track::track_local::track_local_static_sample::TrackLocalStaticSample;

use super::health::{Health, State};
use crate::config::H264Profile;
use super::packet::{Packet, Track};

/// profile-level-id of H.264 Main and Constrained Baseline at level 3.1 (720x1280 at
/// 25 fps fits level 3.1; level-asymmetry-allowed lets a peer decode higher).
const MAIN: &str = "4d001f";
const CONSTRAINED_BASELINE: &str = "42e01f";
/// Time to gather our ICE candidates before answering (WHEP answers in one go).
const GATHER_TIMEOUT: Duration = Duration::from_secs(5);

/// The H.264 payloads offered and answered for the encoder's `profile`, most widely
/// taken first. A Constrained Baseline stream is also valid Main (it uses a subset of
/// both), so it is offered as either and a peer picks what it decodes; a Main stream
/// is offered as Main only.
pub(super) fn h264_payloads(profile: H264Profile) -> Vec<RTCRtpCodecCapability> {
    match profile {
        H264Profile::ConstrainedBaseline => vec![h264(CONSTRAINED_BASELINE), h264(MAIN)],
        _ => vec![h264(MAIN)],
    }
}

/// In words, for errors: what an offer of `profile` holds.
pub(super) fn offered(profile: H264Profile) -> String {
    let names: Vec<&str> = h264_payloads(profile)
        .iter()
        .map(|c| if c.sdp_fmtp_line.ends_with(MAIN) { "H.264 Main (4d001f)" } else { "H.264 Constrained Baseline (42e01f)" })
        .collect();
    format!("{} and Opus", names.join(" or "))
}

fn h264(profile_level_id: &str) -> RTCRtpCodecCapability {
    RTCRtpCodecCapability {
        mime_type: MIME_TYPE_H264.to_owned(),
        clock_rate: 90000,
        channels: 0,
        sdp_fmtp_line: format!("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id={profile_level_id}"),
        rtcp_feedback: [("goog-remb", ""), ("ccm", "fir"), ("nack", ""), ("nack", "pli"), ("transport-cc", "")]
            .into_iter()
            .map(|(typ, parameter)| RTCPFeedback { typ: typ.into(), parameter: parameter.into() })
            .collect(),
    }
}

pub(super) fn opus() -> RTCRtpCodecCapability {
    RTCRtpCodecCapability {
        mime_type: MIME_TYPE_OPUS.to_owned(),
        clock_rate: 48000,
        channels: 2,
        sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
        rtcp_feedback: vec![],
    }
}

/// A WebRTC stack that speaks the one encode: H.264 as the encoder makes it and Opus,
/// with the default interceptors (NACK, RTCP reports). Viewers (WHEP) and ingests
/// (WHIP, whip.rs) use the same.
pub(super) fn api(profile: H264Profile) -> Result<API> {
    let mut media = MediaEngine::default();
    let pt = |payload_type, capability| RTCRtpCodecParameters { capability, payload_type, ..Default::default() };
    for (payload_type, capability) in (102..).step_by(2).zip(h264_payloads(profile)) {
        media.register_codec(pt(payload_type, capability), RTPCodecType::Video).context("registering H.264 for WebRTC")?;
    }
    media.register_codec(pt(111, opus()), RTPCodecType::Audio).context("registering Opus for WebRTC")?;
    let registry = register_default_interceptors(Registry::new(), &mut media).context("WebRTC interceptors")?;
    let mut settings = SettingEngine::default();
    // Peers on this machine (a local preview, a local ingest, the tests) are reached
    // over loopback.
    settings.set_include_loopback_candidate(true);
    // IPv6 link-local addresses need an interface scope no peer can use: skipping them
    // saves a warning per address and session.
    settings.set_ip_filter(Box::new(|ip| !matches!(ip, std::net::IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80)));
    Ok(APIBuilder::new().with_media_engine(media).with_interceptor_registry(registry).with_setting_engine(settings).build())
}

/// One encoded packet as a WebRTC sample (its duration moves the RTP clock on).
pub(super) fn sample(track: Track, buffer: &gst::Buffer) -> Option<Sample> {
    let map = buffer.map_readable().ok()?;
    let default = if track == Track::H264 { 40 } else { 20 };
    let duration = buffer.duration().map(|d| Duration::from_nanos(d.nseconds())).unwrap_or(Duration::from_millis(default));
    Some(Sample { data: Bytes::copy_from_slice(map.as_slice()), duration, ..Default::default() })
}

struct Viewer {
    pc: Arc<RTCPeerConnection>,
    video: Arc<TrackLocalStaticSample>,
    audio: Arc<TrackLocalStaticSample>,
    /// ICE and DTLS are up: samples reach the browser.
    connected: Arc<AtomicBool>,
    /// Has had its first keyframe (only then does it get samples).
    started: AtomicBool,
}

pub struct Whep {
    runtime: Mutex<Option<tokio::runtime::Runtime>>,
    handle: tokio::runtime::Handle,
    api: API,
    /// The H.264 the encoder makes, for each viewer's track.
    video_codec: RTCRtpCodecCapability,
    viewers: Mutex<HashMap<String, Arc<Viewer>>>,
    max_viewers: usize,
    next_id: AtomicU64,
    pub health: Arc<Health>,
}

impl Whep {
    pub fn new(max_viewers: usize, profile: H264Profile) -> Result<Arc<Whep>> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("webrtc")
            .enable_all()
            .build()
            .context("starting the WebRTC runtime")?;
        let api = api(profile)?;
        Ok(Arc::new(Whep {
            handle: runtime.handle().clone(),
            runtime: Mutex::new(Some(runtime)),
            api,
            video_codec: h264_payloads(profile).remove(0),
            viewers: Mutex::default(),
            max_viewers,
            next_id: AtomicU64::new(1),
            health: Arc::new(Health::new("WebRTC (WHEP) viewers".into(), "webrtc")),
        }))
    }

    pub fn viewer_count(&self) -> usize {
        self.viewers.lock().map(|v| v.len()).unwrap_or(0)
    }

    fn viewers(&self) -> Vec<Arc<Viewer>> {
        self.viewers.lock().map(|v| v.values().cloned().collect()).unwrap_or_default()
    }

    /// Answers a viewer's offer: (viewer id, SDP answer). Runs on the WebRTC runtime.
    pub async fn answer(self: Arc<Self>, offer: String) -> Result<(String, String)> {
        let this = self.clone();
        self.handle.spawn(async move { this.negotiate(offer).await }).await.map_err(|e| anyhow!("WebRTC task failed: {e}"))?
    }

    async fn negotiate(self: Arc<Self>, offer: String) -> Result<(String, String)> {
        if self.viewer_count() >= self.max_viewers {
            bail!("too many viewers: {} already watch (output.webrtc.max_viewers)", self.max_viewers);
        }
        let offer = RTCSessionDescription::offer(offer).map_err(|e| anyhow!("not an SDP offer: {e}"))?;
        let pc = Arc::new(self.api.new_peer_connection(RTCConfiguration::default()).await.context("new peer connection")?);
        let video = Arc::new(TrackLocalStaticSample::new(self.video_codec.clone(), "video".into(), "avatarcast".into()));
        let audio = Arc::new(TrackLocalStaticSample::new(opus(), "audio".into(), "avatarcast".into()));
        for track in [video.clone() as Arc<dyn TrackLocal + Send + Sync>, audio.clone() as Arc<dyn TrackLocal + Send + Sync>] {
            let sender = pc.add_track(track).await.context("adding a track")?;
            // RTCP must be read for the interceptors (NACK, reports) to work.
            tokio::spawn(async move { while sender.read_rtcp().await.is_ok() {} });
        }
        let id = format!("v{}", self.next_id.fetch_add(1, Ordering::Relaxed));
        let connected = Arc::new(AtomicBool::new(false));
        let (weak, viewer_id, flag) = (Arc::downgrade(&self), id.clone(), connected.clone());
        pc.on_peer_connection_state_change(Box::new(move |state| {
            flag.store(state == RTCPeerConnectionState::Connected, Ordering::Relaxed);
            tracing::info!(viewer = %viewer_id, "WebRTC viewer {state}");
            if matches!(state, RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed | RTCPeerConnectionState::Disconnected) {
                if let Some(whep) = weak.upgrade() {
                    let id = viewer_id.clone();
                    // Closed on a task of its own: a peer connection closed from inside its
                    // own state handler stalls webrtc-rs's ICE agent, which then never lets
                    // go of its UDP sockets (webrtc-rs issue 174; the soak found 5 sockets
                    // left per viewer that vanished without a DELETE).
                    tokio::spawn(async move {
                        whep.remove(&id).await;
                    });
                }
            }
            Box::pin(async {})
        }));
        pc.set_remote_description(offer).await.map_err(|e| anyhow!("the offer cannot be used: {e}"))?;
        let answer = pc.create_answer(None).await.map_err(|e| anyhow!("no answer to this offer (does it ask for H.264 video?): {e}"))?;
        let mut gathered = pc.gathering_complete_promise().await;
        pc.set_local_description(answer).await.context("setting the answer")?;
        let _ = tokio::time::timeout(GATHER_TIMEOUT, gathered.recv()).await;
        let sdp = pc.local_description().await.ok_or_else(|| anyhow!("no local description"))?.sdp;
        let viewer = Arc::new(Viewer { pc, video, audio, connected, started: AtomicBool::new(false) });
        self.viewers.lock().map_err(|_| anyhow!("viewer list poisoned"))?.insert(id.clone(), viewer);
        tracing::info!(viewer = %id, "WebRTC viewer joined");
        Ok((id, sdp))
    }

    /// Ends a viewer's session (DELETE on its Location); false when unknown.
    pub async fn remove(self: &Arc<Self>, id: &str) -> bool {
        let viewer = self.viewers.lock().ok().and_then(|mut v| v.remove(id));
        match viewer {
            Some(v) => {
                let _ = v.pc.close().await;
                tracing::info!(viewer = %id, "WebRTC viewer left");
                true
            }
            None => false,
        }
    }

    /// Same as `remove`, for the API runtime.
    pub async fn close(self: Arc<Self>, id: String) -> bool {
        let this = self.clone();
        self.handle.spawn(async move { this.remove(&id).await }).await.unwrap_or(false)
    }

    /// The output thread: writes every packet to every viewer. A viewer's PLI cannot
    /// make a keyframe (that would change the GOP every other output relies on); the
    /// next one is at most `video.keyframe_seconds` away.
    pub fn run(self: Arc<Self>, rx: Receiver<Packet>, gap: Arc<AtomicBool>) {
        self.health.set(State::Live);
        for packet in rx {
            let (track, buffer) = match packet {
                Packet::Media(track, buffer) => (track, buffer),
                Packet::End => break,
            };
            let viewers = self.viewers();
            if gap.swap(false, Ordering::Relaxed) {
                // Packets were dropped: everyone starts again on the next keyframe.
                viewers.iter().for_each(|v| v.started.store(false, Ordering::Relaxed));
            }
            if viewers.is_empty() {
                continue;
            }
            let keyframe = Packet::is_keyframe(track, &buffer);
            let Some(sample) = sample(track, &buffer) else { continue };
            let mut written = 0;
            self.handle.block_on(async {
                for v in &viewers {
                    if track == Track::H264 && keyframe && v.connected.load(Ordering::Relaxed) {
                        v.started.store(true, Ordering::Relaxed);
                    }
                    if !v.started.load(Ordering::Relaxed) {
                        continue;
                    }
                    let out = if track == Track::H264 { &v.video } else { &v.audio };
                    if out.write_sample(&sample).await.is_ok() {
                        written += sample.data.len() as u64;
                    }
                }
            });
            self.health.bytes.fetch_add(written, Ordering::Relaxed);
        }
        self.health.set(State::Stopped);
    }

    /// Closes every viewer and stops the runtime (end of the stream).
    pub fn shutdown(&self) {
        let viewers: Vec<_> = self.viewers.lock().map(|mut v| v.drain().map(|(_, v)| v).collect()).unwrap_or_default();
        let runtime = self.runtime.lock().ok().and_then(|mut r| r.take());
        if let Some(rt) = runtime {
            rt.block_on(async {
                for v in viewers {
                    let _ = tokio::time::timeout(Duration::from_secs(1), v.pc.close()).await;
                }
            });
            rt.shutdown_background();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_browser_like_offer_without_h264_is_refused_and_viewers_are_counted() {
        let whep = Whep::new(2, H264Profile::Main).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let err = rt.block_on(whep.clone().answer("v=0\r\nnot sdp".into())).unwrap_err();
        assert!(format!("{err:#}").contains("offer"), "{err:#}");
        assert_eq!(whep.viewer_count(), 0);
        whep.shutdown();
    }
}
