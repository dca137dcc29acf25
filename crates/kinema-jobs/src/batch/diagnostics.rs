//! Turns TOML and schema errors into `manifest.toml:12: …` messages a person can act on.
//!
//! serde reports unknown or missing keys as prose ("unknown field `fsp`, expected one of
//! …"); we re-word them with the line and a "did you mean" so a typo costs one glance.

use std::ops::Range;
use std::path::Path;

use kinema_core::Error;

pub(crate) use crate::suggest::closest;
use crate::suggest::{between, unknown_field};

/// 1-based line of a byte offset in the manifest text.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// `manifest.toml:12` (or just the file name when the line is unknown).
pub(crate) fn location(path: &Path, line: Option<usize>) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    match line {
        Some(l) => format!("{name}:{l}"),
        None => name,
    }
}

/// A manifest error at a line, with the fix.
pub(crate) fn at_line(
    path: &Path,
    line: usize,
    message: impl AsRef<str>,
    hint: impl Into<String>,
) -> Error {
    Error::invalid(
        format!("{}: {}", location(path, Some(line)), message.as_ref()),
        hint,
    )
}

/// Maps a `toml` deserialisation error (syntax, unknown key, wrong type, missing key).
pub(crate) fn from_toml(path: &Path, text: &str, err: &toml::de::Error) -> Error {
    let line = err.span().map(|s| line_of(text, s.start));
    let raw = err.message().trim();
    let loc = location(path, line);
    if let Some(unknown) = unknown_field(raw) {
        let suggestion = unknown.did_you_mean("\"", "\"");
        let hint = if unknown.allowed.is_empty() {
            "remove the key; see docs/BATCH.md for the manifest schema".to_string()
        } else {
            format!("keys allowed here: {}", unknown.allowed.join(", "))
        };
        return Error::invalid(
            format!("{loc}: key \"{}\" is not known{suggestion}", unknown.field),
            hint,
        );
    }
    if let Some(key) = between(raw, "missing field `", "`") {
        return Error::invalid(
            format!("{loc}: required key \"{key}\" is missing"),
            format!("add `{key} = …` to this table; see docs/BATCH.md"),
        );
    }
    let key = err.span().and_then(|s| key_on_line(text, s));
    let subject = match key {
        Some(k) => format!("{loc}: key \"{k}\": {raw}"),
        None => format!("{loc}: {raw}"),
    };
    Error::invalid(
        subject,
        "fix the value (see docs/BATCH.md for each key's type and range)",
    )
}

/// The `key` of a `key = value` line holding the span, for type errors that name only the type.
fn key_on_line(text: &str, span: Range<usize>) -> Option<String> {
    let start = span.start.min(text.len());
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[line_start..]
        .find('\n')
        .map_or(text.len(), |i| line_start + i);
    let line = &text[line_start..line_end];
    let (key, _) = line.split_once('=')?;
    let key = key.trim().trim_matches('"');
    (!key.is_empty() && !key.starts_with('[') && !key.contains(char::is_whitespace))
        .then(|| key.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_count_from_one() {
        let t = "a = 1\nb = 2\nc = 3";
        assert_eq!(line_of(t, 0), 1);
        assert_eq!(line_of(t, 6), 2);
        assert_eq!(line_of(t, t.len()), 3);
        assert_eq!(line_of(t, 10_000), 3);
    }

    #[test]
    fn type_errors_name_the_key_of_their_line() {
        let t = "[defaults]\nfps = \"twelve\"\n";
        let at = t.find("\"twelve\"").unwrap();
        assert_eq!(key_on_line(t, at..at + 8).as_deref(), Some("fps"));
        assert_eq!(key_on_line(t, 0..1), None);
    }
}
