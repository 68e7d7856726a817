//! Offline authoring of video packs, apart from the runtime host (src/avatar):
//! `avatar import` reads a presenter's footage into a pack, `avatar train` trains
//! the presenter's own face model from it, `avatar eval` measures that model.

pub mod eval;
pub mod face_detector;
pub mod import;
pub mod train;
