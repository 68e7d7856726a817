//! Offline authoring of packs, apart from the runtime host (src/avatar):
//! `avatar import --model` makes a 3D host's pack (character_import.rs);
//! `avatar import --video` reads a presenter's footage into a pack (and `avatar refresh`
//! remakes the frames it plays), `avatar train` trains the presenter's own face
//! model from it, `avatar eval` measures that model.

pub mod character_import;
pub mod character_preview;
pub mod eval;
pub mod face_detector;
pub mod import;
pub mod played;
pub mod train;
