//! The rig engine: auto-rig a character silhouette and deform its own pixels along
//! text-chosen motions.
//!
//! Pipeline: silhouette → outline → constrained Delaunay mesh per part layer →
//! skeleton (humanoid or body chain, no neural network) → smooth skin weights →
//! keyframed motions chosen from the prompt → scanline rasteriser. The motions are data:
//! one TOML file each (`motions/*.toml`, embedded at build time), and users add their own
//! through a [`MotionLibrary`] (format in docs/MOTIONS.md). Because every frame
//! is the character's own pixels moved, identity is kept by construction.

mod arms;
pub mod bvh;
mod contour;
mod engine;
pub mod export;
mod gameplay;
mod labels;
mod library;
mod mask;
mod mesh;
mod motion;
mod motion_file;
mod overlay;
mod parts;
mod quadruped;
mod raster;
mod render;
mod rig;
mod skeleton;
mod skin;
mod text;
mod timeline;
mod toml_reader;
mod view;

pub use engine::{Animated, ExportAction, RigEngine};
pub use gameplay::{clip_gameplay, drawn_points, limb_points};
pub use library::{
    as_written_f64, KindMotion, Motion, MotionEvent, MotionLibrary, MotionSource, RootMotion,
    TurnedMotion,
};
pub use mesh::{count_flipped_triangles, Mesh};
pub use motion::{channels_of, Channel, Ease, Keyframes, Pose, Track, Unit};
pub use overlay::draw_overlay;
pub use parts::{build_model, Layer, Model, Part};
pub use render::{canvas_for, count_flips, drawn_pose, render_pose};
pub use rig::{Joint, Rig, RigKind};
pub use skeleton::{analyse, auto_rig, ShapeReport};
pub use text::{understand, Facing, Plan, Step};
pub use timeline::{frame_poses, frame_poses_seen, FramePose};
pub use view::{orientation_of, Orientation, View};
