//! `generate --bvh FILE`: a motion capture added to the motions of a request as an
//! action named after the file, with the clip's default length taken from the capture.

use std::path::Path;
use std::sync::Arc;

use kinema_core::Result;
use kinema_rig::bvh::{load_mocap, mocap_motion, MappingChoice, PlaneChoice};
use kinema_rig::MotionLibrary;

/// A capture ready to render.
#[derive(Clone, Debug)]
pub struct Capture {
    /// The action it plays as (`walk.bvh` → `walk`).
    pub action: String,
    /// Its length in seconds.
    pub seconds: f64,
    /// `motions` (or the built-ins) with the capture added.
    pub motions: Arc<MotionLibrary>,
}

impl Capture {
    /// Frames of a clip that plays the whole capture at `fps`, one per sample.
    pub fn frames_at(&self, fps: u32) -> u32 {
        (self.seconds * fps as f64).round() as u32 + 1
    }
}

/// Reads `path` (plane `auto|front|side`, mapping `auto|mixamo|rokoko|cmu|TABLE.toml`)
/// and adds it to `motions`.
pub fn add_capture(
    motions: Option<Arc<MotionLibrary>>,
    path: &Path,
    plane: &str,
    mapping: &str,
    looping: bool,
) -> Result<Capture> {
    let plane = PlaneChoice::parse(plane)?;
    let mapping = MappingChoice::parse(mapping, Path::new(""))?;
    let mocap = load_mocap(path, plane, mapping)?;
    let seconds = mocap.bvh.duration();
    let motion = mocap_motion(path, mocap, looping);
    let action = motion.name.clone();
    let base = motions.unwrap_or_else(MotionLibrary::builtin);
    Ok(Capture {
        action,
        seconds,
        motions: Arc::new(base.with_motion(motion)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_capture_becomes_an_action() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/bvh/wave_hello.bvh");
        let c = add_capture(None, &path, "auto", "auto", false).unwrap();
        assert_eq!(c.action, "wave-hello");
        assert!(c.motions.get("wave-hello").unwrap().mocap.is_some());
        // The prompt reader picks the capture by its name, hyphen and all.
        let plan = c.motions.understand(&c.action).unwrap();
        assert_eq!(plan.steps[0].action, "wave-hello");
        assert_eq!(c.frames_at(12), (c.seconds * 12.0).round() as u32 + 1);
        let e = add_capture(None, &path, "top", "auto", false).unwrap_err();
        assert!(e.message.contains("not a projection plane"), "{e}");
        let e = add_capture(None, Path::new("no/such.bvh"), "auto", "auto", false).unwrap_err();
        assert!(e.message.contains("cannot read the BVH file"), "{e}");
    }
}
