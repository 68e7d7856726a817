//! The director decides what the host says next: the looping show, and lines
//! inserted live with a priority. It keeps the show's next sentences synthesized
//! ahead, sends inserted lines to their own synthesis lane, and tells the timeline
//! when an urgent or takeover line should cut in at the next word boundary.
//! It lives on the render thread and never blocks it in live mode.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::{Receiver, TryRecvError};

use super::lines::{LineId, LineState, Lines, Origin, Priority};
use crate::cue::Cue;
use super::moderation::{Moderation, Verdict};
use super::transcript::Transcript;
use super::{Show, ShowItem, split_sentences};
use crate::audio_format::OUTPUT_RATE;
use crate::speech::lane::{JobKey, Phrase, SynthDone, SynthJob, SynthLane, SynthResults};
use crate::speech::{Segment, Utterance, text};

/// Show sentences kept synthesized (or in synthesis) ahead of playback.
const SHOW_AHEAD: usize = 3;

/// Requests from the control plane.
pub enum Command {
    /// `voice`: a voice name (speech/voices.rs); None: the show's.
    Say { id: LineId, text: String, priority: Priority, received: Instant, voice: Option<String> },
    ReleaseTakeover,
    /// Background, card or caption changes: passed on to the scene at the next frame.
    Scene(crate::cue::SceneCommand),
    /// A new show file (reloaded or PUT): the line on air finishes, then the new show plays.
    ReplaceShow(Arc<super::file::ShowFile>),
}

struct ShowEntry {
    seq: u64,
    item: ShowItem,
    /// None while synthesis runs.
    utterance: Option<Arc<Utterance>>,
    /// Cut by an urgent line: it is finished before any normal line gets the air.
    resumed: bool,
}

/// One sentence of an inserted line. Lines are synthesized sentence by sentence, so
/// the first goes on air while the rest are still being made.
struct Inserted {
    id: LineId,
    part: u32,
    last: bool,
    priority: Priority,
    received: Instant,
    utterance: Option<Arc<Utterance>>,
    /// Re-queued after an urgent line cut it: latency was already measured.
    resumed: bool,
}

/// What the director hands the timeline.
pub struct Next {
    pub segment: Segment,
    pub origin: Origin,
    /// Markup cues at sample offsets into the segment, in order.
    pub cues: Vec<(u32, Cue)>,
}

/// Pins cues given as text word indices to sample offsets, through the utterance's
/// word timings (proportionally when the voice says more words than are written,
/// as for numbers).
pub fn place_cues(u: &Utterance, cues: &[(usize, Cue)]) -> Vec<(u32, Cue)> {
    let written = u.text.split_whitespace().count().max(1);
    let spoken = u.words.len();
    let mut out: Vec<(u32, Cue)> = cues
        .iter()
        .map(|(i, cue)| {
            let at = if *i == 0 || spoken == 0 { 0 } else { u.words[(i * spoken / written).min(spoken - 1)].start };
            (at, cue.clone())
        })
        .collect();
    out.sort_by_key(|(at, _)| *at);
    out
}

/// Director-side counters for status and metrics.
#[derive(Debug, Default, Clone)]
pub struct DirectorStats {
    pub last_insert_latency_ms: Option<f64>,
}

pub struct Director {
    show: Show,
    next_seq: u64,
    show_ahead: VecDeque<ShowEntry>,
    queue: VecDeque<Inserted>,
    takeover: bool,
    show_lane: SynthLane,
    live_lane: SynthLane,
    results: SynthResults,
    commands: Receiver<Command>,
    pub lines: Arc<Lines>,
    moderation: Moderation,
    transcript: Option<Transcript>,
    pub stats: DirectorStats,
    /// Scene changes from the API, for the render loop to apply.
    pub scene_commands: Vec<crate::cue::SceneCommand>,
    /// Events for the control API's WebSocket, drained by the render loop.
    pub events: Vec<serde_json::Value>,
    /// A show file just taken in, for the scene (products, pictures).
    pub new_show: Option<Arc<super::file::ShowFile>>,
    seed: u64,
    /// When each timed event fires next: stream seconds (every_minutes) or the
    /// local day it last fired on (at).
    event_due: Vec<f64>,
    /// Stream time of the last tick.
    now: f64,
    /// How long after the timeline makes a frame it is on air (the avatar's lookahead).
    pub output_delay: std::time::Duration,
}

impl Director {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        show: Show,
        show_lane: SynthLane,
        live_lane: SynthLane,
        results: SynthResults,
        commands: Receiver<Command>,
        lines: Arc<Lines>,
        moderation: Moderation,
        transcript: Option<Transcript>,
    ) -> Director {
        let mut d = Director {
            show,
            next_seq: 0,
            show_ahead: VecDeque::new(),
            queue: VecDeque::new(),
            takeover: false,
            show_lane,
            live_lane,
            results,
            commands,
            lines,
            moderation,
            transcript,
            stats: DirectorStats::default(),
            scene_commands: Vec::new(),
            events: Vec::new(),
            new_show: None,
            seed: 1,
            event_due: Vec::new(),
            now: 0.0,
            output_delay: std::time::Duration::ZERO,
        };
        d.schedule_events(0.0);
        d.plan_show();
        d
    }

    /// Keeps SHOW_AHEAD sentences of the show in synthesis, moderated first.
    fn plan_show(&mut self) {
        let planned = |d: &Director| d.show_ahead.iter().filter(|e| matches!(e.item, ShowItem::Say { .. })).count();
        let mut guard = 0;
        while planned(self) < SHOW_AHEAD && guard < 1000 {
            guard += 1;
            let Some(item) = self.show.next() else { return };
            let item = match item {
                // A recording plays as recorded; its caption is shown as written.
                item @ ShowItem::Say { audio: Some(_), .. } => item,
                ShowItem::Say { text, product, cues, voice, audio } => match self.moderation.check(&text) {
                    Verdict::Clean(t) => ShowItem::Say { text: t, product, cues, voice, audio },
                    Verdict::Replaced { text: t, terms } => {
                        tracing::warn!(?terms, line = %text, "show line: banned terms replaced");
                        ShowItem::Say { text: t, product, cues, voice, audio }
                    }
                    Verdict::Blocked { terms } => {
                        tracing::warn!(?terms, line = %text, "show line blocked by moderation");
                        continue;
                    }
                },
                pause => pause,
            };
            self.next_seq += 1;
            let seq = self.next_seq;
            if let ShowItem::Say { text, product, voice, audio, .. } = &item {
                self.show_lane.submit(SynthJob {
                    key: JobKey::Show(seq),
                    text: text.clone(),
                    product: product.clone(),
                    voice: voice.clone(),
                    audio: audio.clone(),
                    phrase: Phrase::Whole,
                });
            }
            self.show_ahead.push_back(ShowEntry { seq, item, utterance: None, resumed: false });
        }
    }

    fn schedule_events(&mut self, now: f64) {
        self.event_due = self.show.file.events.iter().map(|e| e.every_minutes.map_or(f64::NAN, |m| now + m * 60.0)).collect();
    }

    /// Fires timed events that are due at stream time `now` (seconds).
    fn fire_events(&mut self, now: f64) {
        let file = self.show.file.clone();
        for (i, e) in file.events.iter().enumerate() {
            let due = match (e.every_minutes, e.at_seconds()) {
                (Some(m), _) => {
                    if now < self.event_due[i] {
                        continue;
                    }
                    self.event_due[i] += m * 60.0;
                    true
                }
                (None, Some(at)) => {
                    // Once a day, when the local clock passes `at`.
                    let (day, secs) = local_day_and_second();
                    let fired_today = self.event_due[i] == day as f64;
                    if secs < at || fired_today || secs > at + 60 {
                        continue;
                    }
                    self.event_due[i] = day as f64;
                    true
                }
                _ => false,
            };
            if !due {
                continue;
            }
            let product = e.product.as_deref().and_then(|p| file.product(p));
            let Some(text) = super::file::fill_product(&e.say, product) else { continue };
            tracing::info!(event = i, %text, "timed event");
            let id = self.lines.add(&text, e.priority);
            self.say(id, text, e.priority, Instant::now(), file.voice.clone(), false);
            if let Some(p) = &e.product {
                let sale_seconds = e.sale_minutes.map(|m| (m * 60.0) as u32);
                self.scene_commands.push(crate::cue::SceneCommand::Card { product: Some(p.clone()), visible: Some(true), sale_seconds });
            }
            self.events.push(serde_json::json!({ "type": "timed_event", "index": i, "id": id, "at": now }));
        }
    }

    /// Takes in commands and finished syntheses; call once per frame with the stream time.
    pub fn tick(&mut self, now: f64) {
        self.now = now;
        self.fire_events(now);
        self.poll();
    }

    /// Takes in commands and finished syntheses.
    pub fn poll(&mut self) {
        loop {
            match self.commands.try_recv() {
                Ok(cmd) => self.command(cmd),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        while let Ok(done) = self.results.try_recv() {
            self.synthesized(done);
        }
    }

    /// Queues an inserted line, sentence by sentence. `lead_first`: a viewer waits for it,
    /// so its lead phrase goes first, alone (speech::lane::Phrase); scheduled lines, known
    /// ahead, are said whole.
    fn say(&mut self, id: LineId, text: String, priority: Priority, received: Instant, voice: Option<String>, lead_first: bool) {
        let voice = voice.or_else(|| self.show.file.voice.clone());
        let text = match self.moderation.check(&text) {
            Verdict::Clean(t) => t,
            Verdict::Replaced { text: t, terms } => {
                tracing::warn!(id, ?terms, "inserted line: banned terms replaced");
                self.lines.update(id, |r| r.text = t.clone());
                t
            }
            Verdict::Blocked { terms } => {
                tracing::warn!(id, ?terms, "inserted line blocked by moderation");
                self.drop_line(id, format!("blocked by moderation: {}", terms.join(", ")));
                return;
            }
        };
        // The first sentence's lead phrase goes first, alone: the line is on air
        // sooner (speech::lane::Phrase).
        let mut pieces: Vec<(String, Phrase)> = split_sentences(&text).into_iter().map(|s| (s, Phrase::Whole)).collect();
        if let Some(lead) = pieces.first().filter(|_| lead_first).and_then(|(s, _)| text::lead_phrase(s)).map(str::to_string) {
            let sentence = pieces[0].0.clone();
            pieces[0].1 = Phrase::AfterLead(lead.clone());
            pieces.insert(0, (sentence, Phrase::Lead(lead)));
        }
        let n = pieces.len() as u32;
        let entries: Vec<Inserted> = pieces
            .into_iter()
            .enumerate()
            .map(|(part, (sentence, phrase))| {
                let part = part as u32;
                self.live_lane.submit(SynthJob {
                    key: JobKey::Line { id, part },
                    text: sentence,
                    product: String::new(),
                    voice: voice.clone(),
                    audio: None,
                    phrase,
                });
                Inserted { id, part, last: part + 1 == n, priority, received, utterance: None, resumed: false }
            })
            .collect();
        // Urgent lines go before everything else, in arrival order.
        let mut at = match priority {
            Priority::Urgent => self.queue.iter().take_while(|q| q.priority == Priority::Urgent).count(),
            _ => self.queue.len(),
        };
        for e in entries {
            self.queue.insert(at, e);
            at += 1;
        }
    }

    fn command(&mut self, cmd: Command) {
        match cmd {
            Command::Say { id, text, priority, received, voice } => {
                self.say(id, text, priority, received, voice, true);
            }
            Command::Scene(cmd) => self.scene_commands.push(cmd),
            Command::ReplaceShow(file) => {
                self.seed = self.seed.wrapping_add(1);
                self.show = Show::new(file.clone(), self.seed);
                // Planned sentences of the old show go; a cut one still comes back.
                self.show_ahead.retain(|e| e.resumed);
                self.plan_show();
                self.events.push(serde_json::json!({ "type": "show_replaced", "products": file.products.len(), "segments": file.segments.len() }));
                self.new_show = Some(file);
                self.schedule_events(self.now);
            }
            Command::ReleaseTakeover => {
                if self.takeover {
                    tracing::info!("takeover released; the show resumes");
                }
                self.takeover = false;
                let dropped: Vec<LineId> =
                    self.queue.iter().filter(|q| q.priority == Priority::Takeover).map(|q| q.id).collect();
                self.queue.retain(|q| q.priority != Priority::Takeover);
                for id in dropped {
                    self.drop_line(id, "takeover released before it played".into());
                }
            }
        }
    }

    fn drop_line(&mut self, id: LineId, reason: String) {
        self.events.push(serde_json::json!({ "type": "line_dropped", "id": id, "reason": reason }));
        self.lines.update(id, |r| r.state = LineState::Dropped { reason });
    }

    fn line_event(kind: &str, origin: &Origin, u: &Utterance, start: f64, end: Option<f64>) -> serde_json::Value {
        let rate = OUTPUT_RATE as f64;
        let words: Vec<serde_json::Value> = u
            .words
            .iter()
            .map(|w| serde_json::json!({ "start": start + w.start as f64 / rate, "end": start + w.end as f64 / rate }))
            .collect();
        let id = match origin {
            Origin::Line { id, .. } => Some(*id),
            Origin::Show { .. } => None,
        };
        serde_json::json!({
            "type": kind, "source": origin.label(), "id": id, "text": u.text, "product": u.product,
            "voice": u.voice, "start": start, "end": end, "words": words,
        })
    }

    fn synthesized(&mut self, done: SynthDone) {
        match done.key {
            JobKey::Show(seq) => {
                let Some(pos) = self.show_ahead.iter().position(|e| e.seq == seq) else { return };
                match done.result {
                    Ok(Some(u)) => self.show_ahead[pos].utterance = Some(u),
                    Ok(None) => {
                        tracing::warn!(line = ?self.show_ahead[pos].item, "nothing speakable in this line; skipped");
                        self.show_ahead.remove(pos);
                    }
                    Err(e) => {
                        tracing::error!(line = ?self.show_ahead[pos].item, "speech failed, line skipped: {e}");
                        self.show_ahead.remove(pos);
                    }
                }
                self.plan_show();
            }
            JobKey::Line { id, part } => {
                let Some(pos) = self.queue.iter().position(|q| q.id == id && q.part == part) else { return };
                let failure = match done.result {
                    Ok(Some(u)) => {
                        self.queue[pos].utterance = Some(u);
                        return;
                    }
                    Ok(None) => None,
                    Err(e) => Some(format!("speech failed: {e}")),
                };
                // A sentence with nothing speakable is skipped; the line survives while any
                // of it can be said.
                let entry = self.queue.remove(pos).expect("position is valid");
                if let Some(reason) = failure {
                    self.queue.retain(|q| q.id != id);
                    self.drop_line(id, reason);
                } else if !self.queue.iter().any(|q| q.id == id) {
                    if entry.part == 0 {
                        self.drop_line(id, "nothing speakable in the text".into());
                    } else if let Some(prev) = self.queue.iter_mut().rev().find(|q| q.id == id) {
                        prev.last = true;
                    } else {
                        self.lines.update(id, |r| r.state = LineState::Done);
                    }
                } else if entry.last {
                    if let Some(prev) = self.queue.iter_mut().rev().find(|q| q.id == id) {
                        prev.last = true;
                    }
                }
            }
        }
    }

    /// Whether a takeover holds the show.
    pub fn takeover(&self) -> bool {
        self.takeover
    }

    /// Whether the line playing now (from `origin`) should stop at the next word boundary.
    pub fn wants_interrupt(&self, origin: &Origin) -> bool {
        let ready_before = |p: Priority| self.queue.iter().any(|q| q.priority == p && q.utterance.is_some());
        match origin {
            Origin::Show { .. } => ready_before(Priority::Urgent) || ready_before(Priority::Takeover) || self.takeover,
            Origin::Line { priority: Priority::Normal, .. } => ready_before(Priority::Urgent),
            Origin::Line { .. } => false,
        }
    }

    /// The next segment. In live mode None means nothing is ready (the host idles in
    /// silence); with `wait` (render mode) it blocks until the next segment is
    /// synthesized, and a line already queued (a timed event) waits for its synthesis
    /// rather than let the show go on, so a render does not depend on the machine's speed.
    pub fn next(&mut self, wait: bool) -> Option<Next> {
        loop {
            self.poll();
            if let Some(next) = self.pick(wait) {
                return Some(next);
            }
            if !wait {
                return None;
            }
            match self.results.recv() {
                Ok(done) => self.synthesized(done),
                Err(_) => return None,
            }
        }
    }

    fn pick(&mut self, lines_first: bool) -> Option<Next> {
        // Inserted lines in queue order (urgent first); a takeover line turns takeover
        // mode on. A line not ready yet lets the show go on, but once a line has begun
        // its sentences play back to back.
        let show_resumes = self.show_ahead.front().is_some_and(|e| e.resumed) && !self.takeover;
        if let Some(front) = self.queue.front().filter(|q| !show_resumes || q.priority != Priority::Normal) {
            if front.utterance.is_some() {
                let q = self.queue.pop_front().expect("front exists");
                if q.priority == Priority::Takeover && !self.takeover {
                    tracing::info!("takeover: the show pauses until DELETE /v1/takeover");
                    self.takeover = true;
                }
                if q.part == 0 && !q.resumed {
                    // On air when the picture shows it, after the renderer's lookahead.
                    let ms = (q.received.elapsed() + self.output_delay).as_secs_f64() * 1000.0;
                    self.lines.update(q.id, |r| r.on_air_latency_ms = Some(ms));
                    self.stats.last_insert_latency_ms = Some(ms);
                }
                let origin = Origin::Line { id: q.id, priority: q.priority, part: q.part, last: q.last };
                return Some(Next { segment: Segment::Speech(q.utterance.expect("ready")), origin, cues: Vec::new() });
            }
            if front.part > 0 || front.resumed || lines_first {
                return None;
            }
        }
        if self.takeover {
            return None;
        }
        let front = self.show_ahead.front()?;
        if matches!(front.item, ShowItem::Say { .. }) && front.utterance.is_none() {
            return None;
        }
        let e = self.show_ahead.pop_front().expect("front exists");
        self.plan_show();
        let (segment, cues) = match e.item {
            ShowItem::Pause { ms } => (Segment::Silence { samples: ms * (OUTPUT_RATE / 1000) }, Vec::new()),
            ShowItem::Say { cues, .. } => {
                let u = e.utterance.expect("ready");
                let cues = place_cues(&u, &cues);
                (Segment::Speech(u), cues)
            }
        };
        Some(Next { segment, origin: Origin::Show { seq: e.seq }, cues })
    }

    /// The timeline started playing a segment at stream time `at` (seconds).
    pub fn started(&mut self, origin: &Origin, segment: &Segment, at: f64) {
        if let Segment::Speech(u) = segment {
            self.events.push(Self::line_event("line_started", origin, u, at, None));
        }
        if let Origin::Line { id, part, .. } = origin {
            self.lines.update(*id, |r| {
                r.state = LineState::Speaking;
                if *part == 0 && r.started_at.is_none() {
                    r.started_at = Some(at);
                }
            });
        }
    }

    /// The timeline finished a spoken segment over [start, end] stream seconds.
    pub fn finished(&mut self, origin: &Origin, utterance: &Utterance, start: f64, end: f64) {
        self.events.push(Self::line_event("line_finished", origin, utterance, start, Some(end)));
        if let Origin::Line { id, last: true, .. } = origin {
            self.lines.update(*id, |r| {
                r.state = LineState::Done;
                r.ended_at = Some(end);
            });
        }
        if let Some(t) = &mut self.transcript {
            t.record(start, end, origin, &utterance.text, &utterance.product);
        }
    }

    /// The timeline cut a segment short for an urgent or takeover line: it is said again,
    /// from its start, once those are done (the show resumes where it left off).
    pub fn interrupted(&mut self, origin: Origin, segment: Segment, start: f64, end: f64) {
        // Cues of a cut sentence have fired already; the repeat carries none.
        if let Segment::Speech(u) = &segment {
            let mut e = Self::line_event("line_cut", &origin, u, start, Some(end));
            e["words"] = serde_json::json!([]);
            self.events.push(e);
        }
        if let (Some(t), Segment::Speech(u)) = (&mut self.transcript, &segment) {
            t.record_cut(start, end, &origin, &u.text, &u.product);
        }
        match origin {
            Origin::Show { seq } => {
                let item = match &segment {
                    Segment::Speech(u) => {
                        // Played from its utterance again: no new synthesis, no new recording read.
                        ShowItem::Say { text: u.text.clone(), product: u.product.clone(), cues: Vec::new(), voice: Some(u.voice.clone()), audio: None }
                    }
                    Segment::Silence { samples } => ShowItem::Pause { ms: samples / (OUTPUT_RATE / 1000) },
                };
                let utterance = match segment {
                    Segment::Speech(u) => Some(u),
                    Segment::Silence { .. } => None,
                };
                self.show_ahead.push_front(ShowEntry { seq, item, utterance, resumed: true });
            }
            Origin::Line { id, priority, part, last } => {
                let utterance = match segment {
                    Segment::Speech(u) => Some(u),
                    Segment::Silence { .. } => None,
                };
                self.lines.update(id, |r| r.state = LineState::Queued);
                // Behind the urgent lines, ahead of everything else (and of its own later sentences).
                let at = self.queue.iter().take_while(|q| q.priority == Priority::Urgent).count();
                self.queue.insert(at, Inserted { id, part, last, priority, received: Instant::now(), utterance, resumed: true });
            }
        }
    }
}

/// Local day number and seconds since local midnight.
fn local_day_and_second() -> (i64, u32) {
    // SAFETY: localtime_r writes into the struct we own.
    unsafe {
        let t = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&t, &mut tm);
        let secs = (tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec) as u32;
        let local = t as i64 + tm.tm_gmtoff as i64;
        (local.div_euclid(86_400), secs)
    }
}
