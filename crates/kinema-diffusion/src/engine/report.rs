//! The parts of a diffusion engine's result that every engine builds the same way: the
//! `understood` fields about the picture and the memory, and the returned clip.

use kinema_core::{Character, Clip, ClipSpec, Frame, Generation};
use serde::Serialize;
use serde_json::{json, Value};

use super::{ChromaKey, Layout};

/// `understood.memory`: the estimate, what was available and what the process used.
pub fn memory_report(estimate: &impl Serialize, peak: u64, available: Option<u64>) -> Value {
    json!({
        "estimated_peak_bytes": peak,
        "estimate": estimate,
        "available_bytes": available,
        "measured_peak_rss_bytes": crate::pipelines::memory::peak_resident_memory(),
        "gpu_checked": false,
    })
}

/// The finished generation: `understood` gets the seed, sizes, key colour and looping
/// fields, and the keyed frames become the clip at the character's scale.
pub fn keyed_generation(
    frames: Vec<Frame>,
    character: &Character,
    spec: &ClipSpec,
    layout: &Layout,
    key: &ChromaKey,
    mut understood: Value,
) -> Generation {
    understood["seed"] = json!(spec.seed);
    understood["size"] = json!({
        "model": [layout.model_width, layout.model_height],
        "clip": [layout.clip_width, layout.clip_height],
        "scale": layout.scale,
    });
    understood["key_colour"] = json!(key);
    understood["looping"] = json!({"requested": spec.looping, "enforced": false});
    Generation {
        clip: Clip {
            frames,
            fps: spec.fps,
            looping: false,
            pixel_art: character.pixel_art,
            placement: layout.placement,
        },
        understood,
        // A diffusion model draws pixels, not a skeleton: no boxes or events to report.
        gameplay: None,
    }
}
