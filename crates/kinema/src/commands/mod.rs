pub mod actions;
pub mod batch;
pub mod engines;
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

/// Asks for consent to a paid run the way the flags say: `--max-cost`, `--yes`, or a
/// question on the terminal (shown on stderr, answered on stdin).
pub fn consent(
    args: &crate::cli::CostArgs,
) -> impl Fn(&kinema_core::CostEstimate) -> kinema_core::Result<()> {
    use std::io::IsTerminal;
    let consent = kinema_jobs::Consent {
        yes: args.yes,
        max_usd: args.max_cost,
        interactive: std::io::stdin().is_terminal() && std::io::stderr().is_terminal(),
    };
    move |cost| {
        eprintln!("estimate: {}", kinema_jobs::cost::describe(cost));
        kinema_jobs::confirm(cost, &consent, &mut |question| {
            use std::io::Write;
            eprint!("{question}");
            std::io::stderr().flush()?;
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            Ok(matches!(line.trim(), "y" | "Y" | "yes" | "Yes"))
        })
    }
}
