//! Following one face through footage: the mesh looks where the face was a frame ago,
//! the detector looks again when the mesh loses it, and the points are steadied so
//! they do not jitter. Each frame says whether its face can be used (tracked), was
//! not found (lost), or is turned too far for a frontal crop (turned away).

use anyhow::Result;

use super::detector::{BlazeFace, Detection};
use super::landmarks::{HeadPose, Landmarks};
use super::mesh::{FaceMesh, MIN_PRESENCE};
use super::window::Rgba;

/// A head turned or tilted further than this (degrees) is no use for a frontal mouth.
pub const MAX_YAW: f32 = 35.0;
pub const MAX_PITCH: f32 = 30.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaceState {
    Tracked,
    /// No face, or the mesh says it is covered.
    Lost,
    /// Found, but turned or tilted past MAX_YAW / MAX_PITCH.
    TurnedAway,
}

/// One frame's face.
#[derive(Clone, Debug)]
pub struct TrackedFace {
    pub state: FaceState,
    /// Steadied points; None when lost.
    pub landmarks: Option<Landmarks>,
    pub pose: Option<HeadPose>,
}

/// What the first detection found, for the import's report.
#[derive(Clone, Debug)]
pub struct FirstFind {
    pub faces: usize,
    pub taken: Detection,
}

pub struct FaceTracker {
    detector: BlazeFace,
    mesh: FaceMesh,
    last: Option<Landmarks>,
    steady: Steadier,
    /// Set by the first detection that found anything.
    pub first_find: Option<FirstFind>,
}

impl FaceTracker {
    pub fn new(detector: BlazeFace, mesh: FaceMesh) -> FaceTracker {
        FaceTracker { detector, mesh, last: None, steady: Steadier::default(), first_find: None }
    }

    /// The face in the next frame of the footage.
    pub fn next(&mut self, frame: Rgba) -> Result<TrackedFace> {
        let followed = match &self.last {
            Some(last) => Some(self.mesh.fit(frame, last.next_window())?).filter(|f| f.presence >= MIN_PRESENCE),
            None => None,
        };
        let fit = match followed {
            Some(fit) => Some(fit),
            None => self.find(frame)?,
        };
        let Some(fit) = fit else {
            self.last = None;
            self.steady.reset();
            return Ok(TrackedFace { state: FaceState::Lost, landmarks: None, pose: None });
        };
        let landmarks = self.steady.steady(fit.landmarks.clone());
        self.last = Some(fit.landmarks);
        let pose = landmarks.head_pose();
        let state = if pose.yaw.abs() > MAX_YAW || pose.pitch.abs() > MAX_PITCH { FaceState::TurnedAway } else { FaceState::Tracked };
        Ok(TrackedFace { state, landmarks: Some(landmarks), pose: Some(pose) })
    }

    /// Detects afresh and takes the largest face (the presenter is nearest the camera).
    fn find(&mut self, frame: Rgba) -> Result<Option<super::mesh::MeshFit>> {
        let found = self.detector.detect(frame)?;
        let Some(taken) = found.iter().max_by(|a, b| a.area().total_cmp(&b.area())).cloned() else { return Ok(None) };
        let fit = self.mesh.fit_detection(frame, &taken)?;
        if self.first_find.is_none() {
            self.first_find = Some(FirstFind { faces: found.len(), taken });
        }
        Ok(fit)
    }
}

/// Steadies points from frame to frame: still faces get the average of their recent
/// points (the mesh jitters by a pixel or two), moving faces follow at once (no lag
/// behind a turn of the head). The speed that counts as moving is relative to the
/// face's size.
#[derive(Default)]
pub struct Steadier {
    last: Option<Vec<[f32; 3]>>,
}

/// Movement under this share of the face's width a frame is jitter.
const STILL: f32 = 0.004;
/// Movement over this share is the face moving: followed at once.
const MOVING: f32 = 0.03;
/// How much of a still face's new points is taken each frame.
const STILL_WEIGHT: f32 = 0.35;

impl Steadier {
    pub fn reset(&mut self) {
        self.last = None;
    }

    pub fn steady(&mut self, fresh: Landmarks) -> Landmarks {
        let Some(last) = &self.last else {
            self.last = Some(fresh.points.clone());
            return fresh;
        };
        let n = fresh.points.len() as f32;
        let centre = |p: &[[f32; 3]]| p.iter().fold([0.0; 2], |a, q| [a[0] + q[0] / n, a[1] + q[1] / n]);
        let (a, b) = (centre(last), centre(&fresh.points));
        let width = fresh.points.iter().map(|p| p[0]).fold(f32::MIN, f32::max) - fresh.points.iter().map(|p| p[0]).fold(f32::MAX, f32::min);
        let moved = ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt() / width.max(1.0);
        let t = ((moved - STILL) / (MOVING - STILL)).clamp(0.0, 1.0);
        let weight = STILL_WEIGHT + (1.0 - STILL_WEIGHT) * t;
        let points: Vec<[f32; 3]> =
            last.iter().zip(&fresh.points).map(|(o, f)| std::array::from_fn(|k| o[k] + (f[k] - o[k]) * weight)).collect();
        self.last = Some(points.clone());
        Landmarks { points }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(x: f32, y: f32) -> Landmarks {
        Landmarks { points: vec![[x, y, 0.0], [x + 100.0, y, 0.0], [x, y + 100.0, 0.0], [x + 100.0, y + 100.0, 0.0]] }
    }

    #[test]
    fn jitter_on_a_still_face_is_damped() {
        let mut s = Steadier::default();
        s.steady(square(0.0, 0.0));
        let mut worst: f32 = 0.0;
        for i in 0..50 {
            let jitter = if i % 2 == 0 { 0.3 } else { -0.3 };
            let out = s.steady(square(jitter, 0.0));
            worst = worst.max(out.points[0][0].abs());
        }
        assert!(worst < 0.3 * 0.5, "jitter of 0.3 px left {worst}");
    }

    #[test]
    fn a_moving_face_is_followed_without_lag() {
        let mut s = Steadier::default();
        s.steady(square(0.0, 0.0));
        // 5 px a frame on a 100 px face: a head turning.
        let out = (1..=10).map(|i| s.steady(square(5.0 * i as f32, 0.0))).last().unwrap();
        assert!((out.points[0][0] - 50.0).abs() < 0.5, "at {}", out.points[0][0]);
    }

    #[test]
    fn after_a_reset_the_first_points_are_taken_as_they_are() {
        let mut s = Steadier::default();
        s.steady(square(0.0, 0.0));
        s.reset();
        assert_eq!(s.steady(square(300.0, 0.0)).points[0][0], 300.0);
    }
}
