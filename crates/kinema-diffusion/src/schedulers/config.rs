//! Reading diffusers scheduler configs strictly.
//!
//! diffusers accepts (and silently keeps) any key; we cannot, because a key we do not know
//! may change the schedule. So a config is accepted only if every key is either a field of
//! the scheduler's config struct or on the list of keys known not to affect sampling.

use kinema_core::{Error, Result};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Bookkeeping keys diffusers writes into every config; they never change the numbers.
pub(crate) const INERT_KEYS: &[&str] = &[
    "_class_name",
    "_diffusers_version",
    "_name_or_path",
    "_use_default_values",
];

/// Deserialises `value` into `T` (a `deny_unknown_fields` struct) after removing the inert
/// keys, turning serde's messages into errors that name the class and the key.
pub(crate) fn parse_config<T: DeserializeOwned>(class: &str, value: Value) -> Result<T> {
    let Value::Object(mut map) = value else {
        return Err(Error::model(format!(
            "{class} config must be a JSON object"
        )));
    };
    for key in INERT_KEYS {
        map.remove(*key);
    }
    serde_json::from_value(Value::Object(map)).map_err(|e| {
        let text = e.to_string();
        let err = Error::model(format!("{class} config: {text}"));
        if text.starts_with("unknown field") {
            Error {
                kind: kinema_core::ErrorKind::Unsupported,
                ..err
            }
            .with_hint(
                "this key may change sampling and this build does not implement it; \
                 remove it only if you know it has no effect",
            )
        } else {
            err
        }
    })
}

/// The error for a config value that diffusers supports but this build does not.
pub(crate) fn unsupported_value(class: &str, key: &str, value: impl std::fmt::Debug) -> Error {
    Error::unsupported(format!("{class}: `{key}` = {value:?} is not implemented")).with_hint(
        format!("use the default `{key}` (Wan's configs do) or another scheduler"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    struct Probe {
        #[serde(default)]
        shift: f64,
    }

    #[test]
    fn inert_keys_pass_and_unknown_keys_are_named() {
        let v = serde_json::json!({"_class_name": "X", "_diffusers_version": "0.42", "shift": 2.0});
        let p: Probe = parse_config("X", v).unwrap();
        assert_eq!(p.shift, 2.0);
        let v = serde_json::json!({"shift": 2.0, "magic_knob": 1});
        let err = parse_config::<Probe>("X", v).unwrap_err();
        assert!(err.message.contains("magic_knob"), "{}", err.message);
        assert_eq!(err.kind, kinema_core::ErrorKind::Unsupported);
        let v = serde_json::json!({"shift": "big"});
        let err = parse_config::<Probe>("X", v).unwrap_err();
        assert!(err.message.contains("invalid type"), "{}", err.message);
    }
}
