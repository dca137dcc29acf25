//! The rig engine: auto-rig a character silhouette and deform its own pixels along
//! text-chosen motions.
//!
//! Pipeline: silhouette → outline → constrained Delaunay mesh per part layer →
//! skeleton (humanoid or body chain, no neural network) → smooth skin weights →
//! keyframed motions chosen from the prompt → scanline rasteriser. Because every frame
//! is the character's own pixels moved, identity is kept by construction.

mod actions;
mod arms;
mod contour;
mod engine;
mod labels;
mod mask;
mod mesh;
mod motion;
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
mod view;

pub use actions::{actions, ActionInfo};
pub use engine::RigEngine;
pub use mesh::{count_flipped_triangles, Mesh};
pub use motion::{Channel, Pose};
pub use overlay::draw_overlay;
pub use parts::{build_model, Layer, Model, Part};
pub use render::{canvas_for, count_flips, drawn_pose, render_pose};
pub use rig::{Joint, Rig, RigKind};
pub use skeleton::{analyse, auto_rig, ShapeReport};
pub use text::{understand, Facing, Plan, Step};
pub use timeline::{frame_poses, FramePose};
pub use view::{orientation_of, Orientation, View};
