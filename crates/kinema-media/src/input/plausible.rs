//! When an automatic cut-out is believable, and the refusal that explains when it is not.
//!
//! A graph cut always returns *some* labelling. We accept it unless it is implausible
//! for a character picture: almost nothing (under [`MIN_SHARE`] of the image: the colour
//! models found nothing that stands out), almost everything (over [`MAX_SHARE`]: nothing
//! looked like background), or scattered (the largest piece holds under
//! [`MIN_MAIN_PIECE`] of the foreground: texture matched, not a subject). Then the user
//! is told why and how to point at the character.

use kinema_core::{Error, Result};

use super::regions::{components, Connectivity};

/// Least share of the image an extracted subject may cover.
pub const MIN_SHARE: f32 = 0.01;
/// Largest share of the image an extracted subject may cover.
pub const MAX_SHARE: f32 = 0.95;
/// Least share of the foreground its largest piece must hold.
pub const MIN_MAIN_PIECE: f32 = 0.5;
/// Pieces below this share of the largest one are stray colour matches and are dropped.
pub const STRAY_PIECE: f32 = 0.05;

/// Marks errors where the subject could not be told from its background, as opposed to
/// unreadable files: callers that can supply a box later (the service's uploads) accept
/// such an image and leave the refusal to the request that lacks one.
#[derive(Debug)]
pub struct SeparationFailed;

impl std::fmt::Display for SeparationFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the subject could not be separated automatically")
    }
}

impl std::error::Error for SeparationFailed {}

/// Whether `e` says the subject could not be separated (see [`SeparationFailed`]).
pub fn is_separation_failure(e: &Error) -> bool {
    e.source
        .as_ref()
        .is_some_and(|s| s.downcast_ref::<SeparationFailed>().is_some())
}

/// The refusal: what went wrong and how to point Kinema at the character.
pub fn cannot_separate(what: &str, why: &str) -> Error {
    Error::image(format!(
        "cannot separate the character in {what} from its background: {why}"
    ))
    .with_hint(
        "pass --box X,Y,W,H (left, top, width, height in pixels) around the character, \
         or --mask PATH (white or opaque = character, same size as the image); \
         an image with transparency needs neither",
    )
    .with_source(SeparationFailed)
}

/// Checks a foreground mask and drops its stray pieces, or says why it is not believable.
pub fn check_and_clean(mask: &mut [bool], w: usize, h: usize, what: &str) -> Result<()> {
    let total = (w * h) as f32;
    let fg = mask.iter().filter(|&&m| m).count();
    let share = fg as f32 / total;
    if share < MIN_SHARE {
        return Err(cannot_separate(
            what,
            &format!(
                "only {:.1}% of the image stands out from the background (at least {:.0}% expected)",
                share * 100.0,
                MIN_SHARE * 100.0
            ),
        ));
    }
    if share > MAX_SHARE {
        return Err(cannot_separate(
            what,
            &format!(
                "{:.1}% of the image looks like the subject, so almost no background was recognised",
                share * 100.0
            ),
        ));
    }
    let (labels, sizes) = components(mask, w, h, Connectivity::Eight);
    let largest = sizes.iter().copied().max().unwrap_or(0);
    if (largest as f32) < MIN_MAIN_PIECE * fg as f32 {
        let pieces = sizes
            .iter()
            .filter(|&&s| s as f32 >= STRAY_PIECE * largest as f32)
            .count();
        return Err(cannot_separate(
            what,
            &format!(
                "what looks like foreground is scattered over {pieces} pieces, the largest holding only {:.0}% of it",
                largest as f32 / fg as f32 * 100.0
            ),
        ));
    }
    for (m, &l) in mask.iter_mut().zip(&labels) {
        if *m && (sizes[l as usize] as f32) < STRAY_PIECE * largest as f32 {
            *m = false;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rect(mask: &mut [bool], w: usize, x0: usize, y0: usize, x1: usize, y1: usize) {
        for y in y0..y1 {
            for x in x0..x1 {
                mask[y * w + x] = true;
            }
        }
    }

    #[test]
    fn believable_masks_pass_and_lose_their_specks() {
        let (w, h) = (40, 40);
        let mut mask = vec![false; w * h];
        rect(&mut mask, w, 10, 5, 30, 38);
        rect(&mut mask, w, 2, 2, 4, 3); // a 2-pixel stray match
        check_and_clean(&mut mask, w, h, "x").expect("plausible");
        assert!(!mask[2 * w + 2] && mask[20 * w + 20]);
    }

    #[test]
    fn implausible_masks_say_why() {
        let (w, h) = (40, 40);
        let mut tiny = vec![false; w * h];
        rect(&mut tiny, w, 0, 0, 3, 3);
        let e = check_and_clean(&mut tiny, w, h, "photo.jpg").expect_err("tiny");
        assert!(e.message.contains("only 0.6%"), "{e}");
        assert!(is_separation_failure(&e));
        assert!(e
            .hint
            .as_deref()
            .is_some_and(|h| h.contains("--box") && h.contains("--mask")));

        let mut all = vec![true; w * h];
        all[0] = false;
        let e = check_and_clean(&mut all, w, h, "photo.jpg").expect_err("all");
        assert!(e.message.contains("99.9%"), "{e}");

        let mut dots = vec![false; w * h];
        for k in 0..16 {
            rect(
                &mut dots,
                w,
                (k % 4) * 10 + 2,
                (k / 4) * 10 + 2,
                (k % 4) * 10 + 6,
                (k / 4) * 10 + 6,
            );
        }
        let e = check_and_clean(&mut dots, w, h, "photo.jpg").expect_err("scattered");
        assert!(e.message.contains("scattered over 16 pieces"), "{e}");
    }
}
