//! "Did you mean …?" for misspelt names: manifest keys, API fields, format names.
//!
//! serde words an unknown key as prose (`unknown field `fsp`, expected one of `fps`,
//! `frames``) in TOML manifests and JSON requests alike; [`unknown_field`] takes that
//! apart and [`closest`] finds the name that was probably meant, so batch manifests and
//! the HTTP API answer a typo the same way.

/// A key serde refused, the allowed key it is closest to, and every allowed key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownField {
    pub field: String,
    pub suggestion: Option<String>,
    pub allowed: Vec<String>,
}

impl UnknownField {
    /// ` (did you mean "fps"?)` with the given quotes, or nothing without a near name.
    pub fn did_you_mean(&self, open: &str, close: &str) -> String {
        self.suggestion
            .as_ref()
            .map(|s| format!(" (did you mean {open}{s}{close}?)"))
            .unwrap_or_default()
    }
}

/// Reads serde's unknown-field message (from any format); `None` for other errors.
pub fn unknown_field(message: &str) -> Option<UnknownField> {
    let field = between(message, "unknown field `", "`")?;
    let rest = message
        .split_once(", expected")
        .map(|(_, r)| r)
        .unwrap_or("");
    let allowed: Vec<String> = rest
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    let suggestion = closest(&field, &allowed).map(str::to_string);
    Some(UnknownField {
        field,
        suggestion,
        allowed,
    })
}

pub(crate) fn between(s: &str, open: &str, close: &str) -> Option<String> {
    let start = s.find(open)? + open.len();
    let len = s[start..].find(close)?;
    Some(s[start..start + len].to_string())
}

/// The candidate nearest to `word` by edit distance, if it is close enough to be a typo.
pub fn closest<'a>(word: &str, candidates: &'a [String]) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.as_str())
}

/// Levenshtein distance, counting a swap of two neighbours as one edit ("fsp" → "fps").
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let (n, m) = (a.len(), b.len());
    let mut d = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=n {
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[n][m]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_their_key() {
        let keys: Vec<String> = ["fps", "frames", "formats", "seed"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(closest("fsp", &keys), Some("fps"));
        assert_eq!(closest("frmes", &keys), Some("frames"));
        assert_eq!(closest("colour", &keys), None);
    }

    #[test]
    fn unknown_field_messages_are_parsed_from_toml_and_json() {
        let u = unknown_field("unknown field `fsp`, expected one of `fps`, `frames`").unwrap();
        assert_eq!(u.field, "fsp");
        assert_eq!(u.allowed, vec!["fps", "frames"]);
        assert_eq!(u.suggestion.as_deref(), Some("fps"));
        assert_eq!(u.did_you_mean("`", "`"), " (did you mean `fps`?)");
        let u = unknown_field("unknown field `x`, expected `name`").unwrap();
        assert_eq!(
            (u.field.as_str(), u.allowed),
            ("x", vec!["name".to_string()])
        );
        assert!(unknown_field("invalid type").is_none());
        // serde_json's wording, as axum passes it on.
        let json = "Failed to deserialize the JSON body into the target type: unknown field \
                    `promt`, expected one of `image`, `prompt`, `actions` at line 1 column 23";
        let u = unknown_field(json).unwrap();
        assert_eq!(u.field, "promt");
        assert_eq!(u.suggestion.as_deref(), Some("prompt"));
        assert_eq!(u.allowed, vec!["image", "prompt", "actions"]);
    }
}
