//! The face mesh's 468 points and what they measure: where the eyes and mouth are,
//! how far the lips part, which way the head is turned, and where to look next frame.
//! Point numbers are MediaPipe's canonical face mesh; "right" is the subject's right
//! (on screen, left).

use super::window::Window;

pub const POINTS: usize = 468;

pub const RIGHT_EYE_OUTER: usize = 33;
pub const RIGHT_EYE_INNER: usize = 133;
pub const LEFT_EYE_INNER: usize = 362;
pub const LEFT_EYE_OUTER: usize = 263;
pub const NOSE_TIP: usize = 1;
pub const MOUTH_RIGHT: usize = 61;
pub const MOUTH_LEFT: usize = 291;
pub const FOREHEAD: usize = 10;
pub const CHIN: usize = 152;
/// The face's outline, forehead round to the chin and back.
pub const FACE_OVAL: [usize; 36] = [
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152, 148, 176, 149, 150, 136,
    172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
];
/// The lips' outer contour from the right corner, along the lower lip and back.
pub const LIPS_OUTER: [usize; 20] = [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185];
/// The lips' inner contour, the same way round.
pub const LIPS_INNER: [usize; 20] = [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 415, 310, 311, 312, 13, 82, 81, 80, 191];
/// Eye corners and lids (upper, lower) of each eye.
pub const EYES: [usize; 8] = [33, 133, 159, 145, 362, 263, 386, 374];

/// The points a pack keeps per frame: outline, lips, eyes, nose tip.
pub fn kept_points() -> Vec<usize> {
    FACE_OVAL.iter().chain(&LIPS_OUTER).chain(&LIPS_INNER).chain(&EYES).chain(&[NOSE_TIP]).copied().collect()
}

/// Upper and lower inner-lip points facing each other: right of centre, centre, left.
const INNER_LIP_PAIRS: [(usize, usize); 3] = [(82, 87), (13, 14), (312, 317)];

/// What a face crop and its paste need of a face, in frame pixels: the five points face
/// aligners take (eye centres, nose tip, mouth corners; the subject's right first) and the
/// face's outline (FACE_OVAL's order).
#[derive(Clone, Debug, PartialEq)]
pub struct Outline {
    pub five: [[f32; 2]; 5],
    pub oval: Vec<[f32; 2]>,
}

impl Outline {
    /// From the points a pack keeps: `kept` names them (mesh numbers), `xy` holds them.
    /// None when one it needs is missing (a lost frame keeps none).
    pub fn from_kept(kept: &[usize], xy: &[[f32; 2]]) -> Option<Outline> {
        let at = |i: usize| kept.iter().position(|&k| k == i).and_then(|n| xy.get(n).copied());
        let eye = |a: usize, b: usize| Some(mid(at(a)?, at(b)?));
        let five = [
            eye(RIGHT_EYE_OUTER, RIGHT_EYE_INNER)?,
            eye(LEFT_EYE_INNER, LEFT_EYE_OUTER)?,
            at(NOSE_TIP)?,
            at(MOUTH_RIGHT)?,
            at(MOUTH_LEFT)?,
        ];
        let oval = FACE_OVAL.iter().map(|&i| at(i)).collect::<Option<Vec<_>>>()?;
        Some(Outline { five, oval })
    }

    /// A stand-in face for benchmarks and tests: an oval of half-axes `half` about
    /// `center`, turned `degrees` clockwise, with the eyes a fifth of its height above
    /// the centre and the mouth a quarter below.
    pub fn ellipse(center: [f32; 2], half: [f32; 2], degrees: f32) -> Outline {
        let (s, c) = degrees.to_radians().sin_cos();
        let at = |x: f32, y: f32| [center[0] + x * c - y * s, center[1] + x * s + y * c];
        let oval = (0..FACE_OVAL.len()).map(|i| i as f32 / FACE_OVAL.len() as f32 * std::f32::consts::TAU);
        let (w, h) = (half[0], half[1]);
        Outline {
            five: [at(-0.4 * w, -0.4 * h), at(0.4 * w, -0.4 * h), at(0.0, 0.1 * h), at(-0.36 * w, 0.5 * h), at(0.36 * w, 0.5 * h)],
            oval: oval.map(|t| at(w * t.sin(), -h * t.cos())).collect(),
        }
    }

    /// Moved by `d` (into a part of the frame that starts at -d).
    pub fn shifted(&self, d: [f32; 2]) -> Outline {
        let by = |p: [f32; 2]| [p[0] + d[0], p[1] + d[1]];
        Outline { five: self.five.map(by), oval: self.oval.iter().map(|&p| by(p)).collect() }
    }

    /// The line from the right eye's centre to the left's: radians, clockwise on screen.
    pub fn eye_angle(&self) -> f32 {
        let [r, l] = [self.five[0], self.five[1]];
        (l[1] - r[1]).atan2(l[0] - r[0])
    }
}

/// 468 points in frame pixels; z (depth) on the same scale, negative towards the camera.
#[derive(Clone, Debug)]
pub struct Landmarks {
    pub points: Vec<[f32; 3]>,
}

/// Degrees. yaw > 0: turned towards the frame's left (the subject's right); pitch > 0:
/// looking down; roll > 0: tilted clockwise on screen.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HeadPose {
    pub yaw: f32,
    pub pitch: f32,
    pub roll: f32,
}

impl Landmarks {
    pub fn xy(&self, i: usize) -> [f32; 2] {
        [self.points[i][0], self.points[i][1]]
    }

    /// The middle of each eye, the subject's right first.
    pub fn eye_centers(&self) -> [[f32; 2]; 2] {
        [mid(self.xy(RIGHT_EYE_OUTER), self.xy(RIGHT_EYE_INNER)), mid(self.xy(LEFT_EYE_INNER), self.xy(LEFT_EYE_OUTER))]
    }

    /// What face aligners take: both eyes, the nose tip, both mouth corners.
    pub fn five_points(&self) -> [[f32; 2]; 5] {
        let [r, l] = self.eye_centers();
        [r, l, self.xy(NOSE_TIP), self.xy(MOUTH_RIGHT), self.xy(MOUTH_LEFT)]
    }

    pub fn outline(&self) -> Outline {
        Outline { five: self.five_points(), oval: FACE_OVAL.iter().map(|&i| self.xy(i)).collect() }
    }

    /// The face's box [x, y, w, h]: its outline's extent (forehead to chin).
    pub fn face_box(&self) -> [f32; 4] {
        let (mut lo, mut hi) = ([f32::MAX; 2], [f32::MIN; 2]);
        for &i in &FACE_OVAL {
            for a in 0..2 {
                lo[a] = lo[a].min(self.points[i][a]);
                hi[a] = hi[a].max(self.points[i][a]);
            }
        }
        [lo[0], lo[1], hi[0] - lo[0], hi[1] - lo[1]]
    }

    /// The eye line's angle on screen, radians, clockwise.
    pub fn roll(&self) -> f32 {
        let [r, l] = [self.xy(RIGHT_EYE_OUTER), self.xy(LEFT_EYE_OUTER)];
        (l[1] - r[1]).atan2(l[0] - r[0])
    }

    /// How far the lips part: the inner-lip gap over the mouth's width (0 closed, about
    /// 0.3 to 0.5 wide open).
    pub fn lip_opening(&self) -> f32 {
        let gap = INNER_LIP_PAIRS.iter().map(|&(u, l)| dist(self.xy(u), self.xy(l))).sum::<f32>() / INNER_LIP_PAIRS.len() as f32;
        gap / dist(self.xy(MOUTH_RIGHT), self.xy(MOUTH_LEFT)).max(1e-3)
    }

    /// The head's turn from the mesh's 3D points: the axis through the eyes and the one
    /// from chin to forehead.
    pub fn head_pose(&self) -> HeadPose {
        let across = normalize(sub(self.points[LEFT_EYE_OUTER], self.points[RIGHT_EYE_OUTER]));
        let up = sub(self.points[FOREHEAD], self.points[CHIN]);
        let up = normalize(sub(up, scale(across, dot(up, across))));
        HeadPose {
            yaw: -across[2].clamp(-1.0, 1.0).asin().to_degrees(),
            pitch: -up[2].clamp(-1.0, 1.0).asin().to_degrees(),
            roll: across[1].atan2(across[0]).to_degrees(),
        }
    }

    /// Where the mesh should look in the next frame: around these points, grown 1.5
    /// times, turned with the eyes (the face moves little in 40 ms).
    pub fn next_window(&self) -> Window {
        let angle = self.roll();
        let probe = Window { center: self.xy(NOSE_TIP), size: 1.0, angle };
        let (mut lo, mut hi) = ([f32::MAX; 2], [f32::MIN; 2]);
        for p in &self.points {
            let q = probe.from_frame([p[0], p[1]], 1);
            for a in 0..2 {
                lo[a] = lo[a].min(q[a]);
                hi[a] = hi[a].max(q[a]);
            }
        }
        let center = probe.to_frame([(lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0], 1);
        Window { center, size: (hi[0] - lo[0]).max(hi[1] - lo[1]) * 1.5, angle }
    }
}

fn mid(a: [f32; 2], b: [f32; 2]) -> [f32; 2] {
    [(a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0]
}

fn dist(a: [f32; 2], b: [f32; 2]) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
}

fn sub(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn scale(a: [f32; 3], s: f32) -> [f32; 3] {
    [a[0] * s, a[1] * s, a[2] * s]
}

fn dot(a: [f32; 3], b: [f32; 3]) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn normalize(a: [f32; 3]) -> [f32; 3] {
    scale(a, 1.0 / dot(a, a).sqrt().max(1e-9))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A flat face facing the camera, then turned.
    fn face(turn: impl Fn([f32; 3]) -> [f32; 3]) -> Landmarks {
        let mut points = vec![turn([0.0; 3]); POINTS];
        let mut put = |i: usize, p: [f32; 3]| points[i] = turn(p);
        put(RIGHT_EYE_OUTER, [-40.0, 0.0, 0.0]);
        put(RIGHT_EYE_INNER, [-15.0, 0.0, 0.0]);
        put(LEFT_EYE_INNER, [15.0, 0.0, 0.0]);
        put(LEFT_EYE_OUTER, [40.0, 0.0, 0.0]);
        put(FOREHEAD, [0.0, -60.0, 0.0]);
        put(CHIN, [0.0, 90.0, 0.0]);
        put(NOSE_TIP, [0.0, 30.0, -20.0]);
        put(MOUTH_RIGHT, [-25.0, 60.0, 0.0]);
        put(MOUTH_LEFT, [25.0, 60.0, 0.0]);
        for (u, l) in INNER_LIP_PAIRS {
            put(u, [0.0, 58.0, 0.0]);
            put(l, [0.0, 68.0, 0.0]);
        }
        Landmarks { points }
    }

    #[test]
    fn a_frontal_face_has_no_turn_and_its_lips_part_by_gap_over_width() {
        let f = face(|p| p);
        let pose = f.head_pose();
        assert!(pose.yaw.abs() < 1e-3 && pose.pitch.abs() < 1e-3 && pose.roll.abs() < 1e-3, "{pose:?}");
        assert!((f.lip_opening() - 10.0 / 50.0).abs() < 1e-5);
        assert_eq!(f.eye_centers(), [[-27.5, 0.0], [27.5, 0.0]]);
    }

    #[test]
    fn turns_are_read_with_their_signs() {
        let (s, c) = 20f32.to_radians().sin_cos();
        // Turned towards the frame's left: the subject's left eye comes nearer (z < 0).
        let yawed = face(|[x, y, z]| [x * c + z * s, y, -x * s + z * c]).head_pose();
        assert!((yawed.yaw - 20.0).abs() < 0.01, "{yawed:?}");
        // Looking down: the forehead comes nearer.
        let pitched = face(|[x, y, z]| [x, y * c - z * s, y * s + z * c]).head_pose();
        assert!((pitched.pitch - 20.0).abs() < 0.01, "{pitched:?}");
        // Clockwise on screen.
        let rolled = face(|[x, y, z]| [x * c - y * s, x * s + y * c, z]);
        assert!((rolled.head_pose().roll - 20.0).abs() < 0.01);
        assert!((rolled.roll().to_degrees() - 20.0).abs() < 0.01);
    }

    #[test]
    fn an_outline_from_the_kept_points_is_the_meshs_own() {
        let (s, c) = 10f32.to_radians().sin_cos();
        let f = face(|[x, y, z]| [x * c - y * s + 200.0, x * s + y * c + 100.0, z]);
        let kept = kept_points();
        let xy: Vec<[f32; 2]> = kept.iter().map(|&i| f.xy(i)).collect();
        let outline = Outline::from_kept(&kept, &xy).expect("all kept");
        assert_eq!(outline, f.outline());
        assert!((outline.eye_angle().to_degrees() - 10.0).abs() < 0.01);
        assert_eq!(Outline::from_kept(&kept, &[]), None, "a lost frame has none");
        assert_eq!(outline.shifted([-200.0, -100.0]).five[2], [f.xy(NOSE_TIP)[0] - 200.0, f.xy(NOSE_TIP)[1] - 100.0]);
    }

    #[test]
    fn the_next_window_turns_with_the_face_and_covers_it() {
        let (s, c) = 30f32.to_radians().sin_cos();
        let f = face(|[x, y, z]| [x * c - y * s + 200.0, x * s + y * c + 100.0, z]);
        let w = f.next_window();
        assert!((w.angle.to_degrees() - 30.0).abs() < 0.01);
        // From forehead to chin is 150: grown 1.5 times.
        assert!((w.size - 225.0).abs() < 0.1, "{w:?}");
        for p in &f.points {
            let q = w.from_frame([p[0], p[1]], 192);
            assert!(q.iter().all(|v| (0.0..=192.0).contains(v)), "{q:?} outside");
        }
    }
}
