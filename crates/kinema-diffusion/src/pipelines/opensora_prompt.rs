//! The text Open-Sora 2.0 was trained on ends with the clip's frame rate and a motion score
//! (`add_fps_info_to_text` and `add_motion_score_to_text` in `opensora/utils/inference.py`):
//! "a knight waves. 24 FPS. 4 motion score." Prompts without it get weaker motion.

use kinema_core::{Error, Result};

/// The frame rate Open-Sora's inference configs write into the prompt (`fps_save`).
pub const OPEN_SORA_FPS: u32 = 24;

/// The motion scores the released model was conditioned on.
pub const MOTION_SCORES: std::ops::RangeInclusive<u32> = 1..=7;

/// `prompt` as Open-Sora's inference script rewrites it: trimmed, ended with a period, then
/// " {fps} FPS." (unless it already ends with "<digits> FPS.") and " {score} motion score.".
pub fn motion_prompt(prompt: &str, fps: u32, motion_score: u32) -> Result<String> {
    if !MOTION_SCORES.contains(&motion_score) {
        return Err(Error::invalid(
            format!("motion score {motion_score} is outside Open-Sora's range"),
            format!(
                "use --motion-score between {} and {} (Open-Sora's default is 4)",
                MOTION_SCORES.start(),
                MOTION_SCORES.end()
            ),
        ));
    }
    let mut text = prompt.trim().to_string();
    if !text.ends_with('.') {
        text.push('.');
    }
    if !ends_with_fps(&text) {
        text.push_str(&format!(" {fps} FPS."));
    }
    text.push_str(&format!(" {motion_score} motion score."));
    Ok(text)
}

/// Whether `text` ends with one or more digits, " FPS." (the regex `\d+ FPS\.$`).
fn ends_with_fps(text: &str) -> bool {
    let Some(head) = text.strip_suffix(" FPS.") else {
        return false;
    };
    head.chars().last().is_some_and(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffix_is_appended_as_open_sora_does() {
        assert_eq!(
            motion_prompt("a knight waves hello", 24, 4).unwrap(),
            "a knight waves hello. 24 FPS. 4 motion score."
        );
        assert_eq!(
            motion_prompt("  挥手.  ", 24, 6).unwrap(),
            "挥手. 24 FPS. 6 motion score."
        );
        // An FPS already written is kept, not doubled.
        assert_eq!(
            motion_prompt("a slime bounces. 16 FPS.", 24, 3).unwrap(),
            "a slime bounces. 16 FPS. 3 motion score."
        );
        // "FPS." without a number is not an FPS tag.
        assert_eq!(
            motion_prompt("high FPS.", 24, 1).unwrap(),
            "high FPS. 24 FPS. 1 motion score."
        );
    }

    #[test]
    fn scores_outside_the_trained_range_are_refused() {
        for bad in [0, 8] {
            let err = motion_prompt("x", 24, bad).unwrap_err();
            assert!(err.message.contains(&bad.to_string()), "{}", err.message);
        }
    }
}
