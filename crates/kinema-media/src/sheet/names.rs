//! Animation names and frame timing shared by every atlas format.

use kinema_core::{Error, Result};

/// Longest animation name accepted; engines show these in editors and lists.
const MAX_NAME_CHARS: usize = 64;

/// Checks an animation name can be written unquoted-safe into every atlas format.
///
/// Names become JSON keys, Godot `StringName`s, Unity sprite names and file-like frame
/// names, so only letters, digits, `_` and `-` are allowed (any script, so `挥手` works).
pub(crate) fn check_animation_name(name: &str) -> Result<()> {
    let hint =
        "use letters, digits, `_` or `-` (for example `walk`, `attack_1`), at most 64 characters";
    if name.is_empty() {
        return Err(Error::invalid("an animation has an empty name", hint));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(Error::invalid(
            format!("animation name `{name}` is too long"),
            hint,
        ));
    }
    if name.starts_with('-') {
        return Err(Error::invalid(
            format!("animation name `{name}` starts with `-`"),
            hint,
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|&c| !(c.is_alphanumeric() || c == '_' || c == '-'))
    {
        return Err(Error::invalid(
            format!(
                "animation name `{name}` contains `{}`",
                bad.escape_default()
            ),
            hint,
        ));
    }
    Ok(())
}

/// The name of frame `index` of `animation`, unique on a sheet whose animation names are.
pub(crate) fn frame_name(animation: &str, index: usize) -> String {
    format!("{animation}_{index:04}")
}

/// Whole-millisecond durations for `count` frames at `fps` whose running total never
/// drifts from the true time (24 fps gives 42, 41, 42, … rather than 42 every frame).
pub(crate) fn frame_durations_ms(count: usize, fps: u32) -> Vec<u32> {
    let fps = u64::from(fps.max(1));
    let at = |i: u64| ((i * 1000 + fps / 2) / fps) as u32;
    (0..count as u64).map(|i| at(i + 1) - at(i)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_allow_words_in_any_script() {
        for ok in ["walk", "attack_1", "Idle-Loop", "挥手"] {
            assert!(check_animation_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-x", "a b", "a\"b", "x/y", "ab\n", &"a".repeat(65)] {
            let e = check_animation_name(bad).unwrap_err();
            assert!(e.hint.is_some(), "{bad}");
        }
    }

    #[test]
    fn durations_add_up_without_drift() {
        let d = frame_durations_ms(24, 24);
        assert_eq!(d.iter().sum::<u32>(), 1000);
        assert!(d.iter().all(|&x| x == 41 || x == 42), "{d:?}");
        assert_eq!(frame_durations_ms(3, 10), vec![100, 100, 100]);
    }
}
