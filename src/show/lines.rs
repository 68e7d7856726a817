//! Inserted lines and their lifecycle (queued -> speaking -> done, or dropped with a
//! reason), shared between the render thread and the control API.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

pub type LineId = u64;

/// Where a segment came from, so the director can follow its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Show { seq: u64 },
    /// Sentence `part` of an inserted line; `last` is its final sentence.
    Line { id: LineId, priority: Priority, part: u32, last: bool },
}

impl Origin {
    pub fn label(&self) -> &'static str {
        match self {
            Origin::Show { .. } => "show",
            Origin::Line { priority: Priority::Urgent, .. } => "urgent",
            Origin::Line { priority: Priority::Normal, .. } => "normal",
            Origin::Line { priority: Priority::Takeover, .. } => "takeover",
        }
    }
}


#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    /// Interrupts the current line at the next word boundary; the show resumes after.
    Urgent,
    /// Plays after the current sentence.
    Normal,
    /// Replaces the show until released.
    Takeover,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum LineState {
    Queued,
    Speaking,
    Done,
    Dropped { reason: String },
}

#[derive(Debug, Clone, Serialize)]
pub struct LineRecord {
    pub id: LineId,
    /// The text as it will be (or was) spoken, after moderation.
    pub text: String,
    pub priority: Priority,
    #[serde(flatten)]
    pub state: LineState,
    /// From the request to its first audio sample entering the encoder.
    pub on_air_latency_ms: Option<f64>,
    /// Stream time (seconds) of its first and last sample.
    pub started_at: Option<f64>,
    pub ended_at: Option<f64>,
}

/// The most recent lines, by id. Old finished lines are forgotten past `KEEP`.
#[derive(Default)]
pub struct Lines {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    next_id: LineId,
    map: HashMap<LineId, LineRecord>,
    order: VecDeque<LineId>,
}

const KEEP: usize = 2000;

impl Lines {
    pub fn add(&self, text: &str, priority: Priority) -> LineId {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        g.next_id += 1;
        let id = g.next_id;
        let record = LineRecord {
            id,
            text: text.to_string(),
            priority,
            state: LineState::Queued,
            on_air_latency_ms: None,
            started_at: None,
            ended_at: None,
        };
        g.map.insert(id, record);
        g.order.push_back(id);
        while g.order.len() > KEEP {
            if let Some(old) = g.order.pop_front() {
                g.map.remove(&old);
            }
        }
        id
    }

    pub fn update(&self, id: LineId, f: impl FnOnce(&mut LineRecord)) {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(r) = g.map.get_mut(&id) {
            f(r);
        }
    }

    pub fn get(&self, id: LineId) -> Option<LineRecord> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).map.get(&id).cloned()
    }

    /// Lines not finished yet, oldest first.
    pub fn pending(&self) -> Vec<LineRecord> {
        let g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        g.order
            .iter()
            .filter_map(|id| g.map.get(id))
            .filter(|r| matches!(r.state, LineState::Queued | LineState::Speaking))
            .cloned()
            .collect()
    }
}
