pub mod actions;
pub mod batch;
pub mod eval;
pub mod generate;
pub mod models;
pub mod rig;
pub mod serve;

use kinema_core::Character;
use kinema_media::LoadOptions;
use std::path::{Path, PathBuf};

/// Loads the character the way every command does: pixel budget, optional user mask.
pub fn load_character(image: &Path, mask: &Option<PathBuf>) -> kinema_core::Result<Character> {
    let opts = LoadOptions {
        mask: mask.clone(),
        ..LoadOptions::default()
    };
    kinema_media::load_character(image, &opts)
}
