//! Credentials and endpoints, from the environment of the process that talks to the
//! provider (the CLI's, or the server's own: clients never send keys).

use kinema_core::{Error, Result};

use crate::catalog::ProviderSpec;
use crate::jwt::JwtMinter;

/// How requests to a provider are authorised.
#[derive(Debug)]
pub enum Credentials {
    /// `Authorization: Bearer KEY` (Runway, Luma).
    Bearer(String),
    /// A short-lived HS256 token minted from an access key and a secret key (Kling).
    Jwt(JwtMinter),
}

/// Reads the provider's keys; a missing one is an error naming the variable and where
/// to get a key.
pub fn credentials(provider: &ProviderSpec) -> Result<Credentials> {
    let mut values = Vec::new();
    for var in &provider.key_env {
        match std::env::var(var) {
            Ok(v) if !v.trim().is_empty() => values.push(v.trim().to_string()),
            _ => return Err(missing_key(provider, var)),
        }
    }
    match values.as_slice() {
        [key] => Ok(Credentials::Bearer(key.clone())),
        [access, secret] => Ok(Credentials::Jwt(JwtMinter::new(access, secret))),
        _ => Err(Error::internal(format!(
            "{}: unexpected key layout",
            provider.name
        ))),
    }
}

fn missing_key(provider: &ProviderSpec, var: &str) -> Error {
    let all = provider.key_env.join(" and ");
    Error::model(format!("{} needs an API key, and {var} is not set", provider.title)).with_hint(
        format!(
            "get a key at {}, then set {all} in the environment (for `kinema serve`, in the server's environment)",
            provider.key_url
        ),
    )
}

/// The API root: the documented endpoint, or the override for proxies and gateways.
pub fn base_url(provider: &ProviderSpec) -> Result<String> {
    let url = match std::env::var(&provider.base_url_env) {
        Ok(v) if !v.trim().is_empty() => v.trim().to_string(),
        _ => provider.base_url.clone(),
    };
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(Error::invalid(
            format!("{}={url} is not an http(s) URL", provider.base_url_env),
            format!("set it to the API root, e.g. {}", provider.base_url),
        ));
    }
    Ok(url.trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_key_names_the_variable_and_where_to_get_one() {
        let mut spec = crate::catalog::provider("kling").unwrap().clone();
        spec.key_env = vec![
            "KINEMA_TEST_UNSET_ACCESS".into(),
            "KINEMA_TEST_UNSET_SECRET".into(),
        ];
        let e = credentials(&spec).unwrap_err();
        assert!(
            e.message.contains("KINEMA_TEST_UNSET_ACCESS is not set"),
            "{e}"
        );
        let hint = e.hint.unwrap();
        assert!(
            hint.contains("app.klingai.com") && hint.contains("KINEMA_TEST_UNSET_SECRET"),
            "{hint}"
        );
        spec.base_url_env = "KINEMA_TEST_UNSET_BASE".into();
        assert_eq!(
            base_url(&spec).unwrap(),
            "https://api-singapore.klingai.com"
        );
    }
}
