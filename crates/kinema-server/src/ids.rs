//! Opaque random ids, and the check that lets an id near a file path.
//!
//! Ids end up in file names (`uploads/upl_…`, `outputs/tsk_…/`), so anything a client
//! sends is accepted only if it has exactly the shape we generate: a known prefix and
//! 32 lowercase hex digits (128 random bits). No dots, no slashes, nothing to traverse.

use kinema_core::{Error, Result};

pub const TASK: &str = "tsk_";
pub const UPLOAD: &str = "upl_";

/// A fresh id such as `tsk_3f…` (prefix + 128 random bits in hex).
pub fn new_id(prefix: &str) -> Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| {
        Error::internal(format!("the system random source failed: {e}"))
            .with_hint("check that /dev/urandom is available")
    })?;
    let mut id = String::with_capacity(prefix.len() + 32);
    id.push_str(prefix);
    for b in bytes {
        id.push_str(&format!("{b:02x}"));
    }
    Ok(id)
}

/// Whether `id` has exactly the shape [`new_id`] makes with `prefix`.
pub fn is_valid(prefix: &str, id: &str) -> bool {
    id.strip_prefix(prefix).is_some_and(|hex| {
        hex.len() == 32 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// Milliseconds since the Unix epoch; what the store keeps.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// RFC 3339 UTC with milliseconds, what the API shows.
pub fn rfc3339(ms: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_millis(t).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_validate_and_differ() {
        let a = new_id(TASK).unwrap();
        let b = new_id(TASK).unwrap();
        assert_ne!(a, b);
        assert!(is_valid(TASK, &a), "{a}");
        assert!(!is_valid(UPLOAD, &a));
    }

    #[test]
    fn traversal_and_odd_shapes_are_refused() {
        for bad in [
            "tsk_../../etc/passwd",
            "tsk_",
            "tsk_0123456789abcdef0123456789abcdeF",
            "tsk_0123456789abcdef0123456789abcde",
            "tsk_0123456789abcdef0123456789abcdef0",
            "upl_0123456789abcdef0123456789abcdef",
            "",
        ] {
            assert!(!is_valid(TASK, bad), "{bad}");
        }
        assert!(is_valid(TASK, "tsk_0123456789abcdef0123456789abcdef"));
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_500), "1970-01-01T00:00:01.500Z");
    }
}
