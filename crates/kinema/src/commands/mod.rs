pub mod actions;
pub mod batch;
pub mod eval;
#[cfg(test)]
mod front_ends_agree;
pub mod generate;
pub mod models;
pub mod rig;
pub mod serve;
pub mod worker;

use kinema_core::Character;
use kinema_media::SubjectBox;
use std::path::{Path, PathBuf};

/// Loads the character the way every command does: pixel budget, optional user mask and box.
pub fn load_character(
    image: &Path,
    mask: &Option<PathBuf>,
    subject_box: Option<SubjectBox>,
) -> kinema_core::Result<Character> {
    kinema_media::load_character(
        image,
        &kinema_jobs::defaults::load_options(mask.clone(), subject_box),
    )
}
