//! The player thread of a video pack: runs the playback a few frames ahead of the
//! renderer, decodes each frame it picks from played.mkv, and hands the pictures
//! over in order. Gestures asked for take effect at the player's frame, AHEAD
//! frames after the renderer's.

use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Result;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, bounded, unbounded};

use super::playback::{Playback, Step};
use super::played::{FrameStore, Picture, UsedFrames};

/// Frames decoded ahead of the renderer.
const AHEAD: usize = 4;
/// How long the renderer waits for a frame the player is late with (it is AHEAD
/// frames early unless the decoder stalls); after that it shows the last picture
/// again and waits no more until the player catches up.
const WAIT: Duration = Duration::from_secs(2);

/// What one stream frame shows.
#[derive(Debug, Clone)]
pub struct Shown {
    /// The footage frame.
    pub frame: usize,
    pub picture: Picture,
    /// (footage frame fading out, its picture, its weight 0..1).
    pub fade_from: Option<(usize, Picture, f32)>,
}

pub struct Player {
    requests: Sender<String>,
    shown: Option<Receiver<Shown>>,
    last: Shown,
    /// The player missed WAIT: the renderer repeats the last picture until it is back.
    behind: bool,
    thread: Option<JoinHandle<()>>,
}

impl Player {
    /// Decodes the first frame here (so a bad file fails the load), then starts the thread.
    pub fn start(mut store: FrameStore, used: UsedFrames, mut playback: Playback) -> Result<Player> {
        let first = resolve(&mut store, &used, playback.next(), None)?;
        let (requests, request_rx) = unbounded::<String>();
        let (shown_tx, shown) = bounded(AHEAD);
        let _ = shown_tx.send(first.clone());
        let last = first.clone();
        let thread = std::thread::Builder::new()
            .name("video-pack".into())
            .spawn(move || run(store, used, playback, request_rx, shown_tx, last))
            .expect("spawn the video pack's player");
        Ok(Player { requests, shown: Some(shown), last: first, behind: false, thread: Some(thread) })
    }

    pub fn request(&self, gesture: &str) {
        let _ = self.requests.send(gesture.to_string());
    }

    /// The next stream frame's picture.
    pub fn next(&mut self) -> Shown {
        let wait = if self.behind { Duration::ZERO } else { WAIT };
        match self.shown.as_ref().expect("open until dropped").recv_timeout(wait) {
            Ok(shown) => {
                if std::mem::replace(&mut self.behind, false) {
                    tracing::info!("the video pack's player caught up");
                }
                self.last = shown;
            }
            Err(RecvTimeoutError::Timeout) if !self.behind => {
                tracing::warn!("the video pack's player is late (the machine is short of CPU, or the disk stalls): the host's picture holds still");
                self.behind = true;
            }
            Err(_) => {}
        }
        self.last.clone()
    }
}

impl Drop for Player {
    fn drop(&mut self) {
        // Closing the channel ends the thread at its next frame.
        self.shown = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(mut store: FrameStore, used: UsedFrames, mut playback: Playback, requests: Receiver<String>, shown: Sender<Shown>, mut last: Shown) {
    let mut failed = false;
    loop {
        for name in requests.try_iter() {
            playback.request(&name);
        }
        let step = playback.next();
        let next = match resolve(&mut store, &used, step, Some(&last)) {
            Ok(s) => s,
            Err(e) => {
                // The stream goes on with the host holding still.
                if !std::mem::replace(&mut failed, true) {
                    tracing::error!("video pack: {e:#}; the host's picture holds still");
                }
                last.clone()
            }
        };
        if shown.send(next.clone()).is_err() {
            return;
        }
        last = next;
    }
}

/// The pictures of `step`; a fading picture is the one `last` showed or faded from
/// when it is the same frame (a fade holds one frame for several).
fn resolve(store: &mut FrameStore, used: &UsedFrames, step: Step, last: Option<&Shown>) -> Result<Shown> {
    let mut picture_of = |frame: usize| -> Result<Picture> {
        let slot = used.slot(frame).ok_or_else(|| anyhow::anyhow!("footage frame {frame} is not among the played frames"))?;
        store.get(slot)
    };
    let fade_from = match step.fade_from {
        Some((frame, weight)) => {
            let held = last.and_then(|l| match &l.fade_from {
                Some((f, p, _)) if *f == frame => Some(p.clone()),
                _ => (l.frame == frame).then(|| l.picture.clone()),
            });
            let picture = match held {
                Some(p) => p,
                None => picture_of(frame)?,
            };
            Some((frame, picture, weight))
        }
        None => None,
    };
    Ok(Shown { frame: step.frame, picture: picture_of(step.frame)?, fade_from })
}
