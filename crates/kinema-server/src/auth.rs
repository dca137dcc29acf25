//! Bearer tokens: who is calling, so each token sees only its own uploads and tasks.
//!
//! Tokens are never stored: a task's owner is a fingerprint (SHA-256 prefix) of the
//! token, so the database file does not leak credentials.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::errors::ApiError;
use crate::state::AppState;

/// The caller's identity: the fingerprint of its token, or `local` without tokens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner(pub String);

/// The tokens a server accepts.
pub struct Auth {
    /// SHA-256 digests of the accepted tokens; comparing digests takes the same time
    /// whatever the token, so timing reveals nothing about a secret's prefix.
    digests: Vec<[u8; 32]>,
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn same(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Auth {
    pub fn new(tokens: &[String]) -> Auth {
        Auth {
            digests: tokens.iter().map(|t| digest(t)).collect(),
        }
    }

    pub fn required(&self) -> bool {
        !self.digests.is_empty()
    }

    /// The owner a presented token stands for, if it is one of ours.
    pub fn owner_of(&self, token: &str) -> Option<Owner> {
        let d = digest(token);
        let mut found = false;
        for known in &self.digests {
            found |= same(known, &d);
        }
        found.then(|| {
            let hex: String = d[..12].iter().map(|b| format!("{b:02x}")).collect();
            Owner(format!("tok_{hex}"))
        })
    }
}

fn unauthorized(message: &str) -> Response {
    let mut r = ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        message,
        "send `Authorization: Bearer TOKEN` with a token given to `kinema serve --token`",
    )
    .into_response();
    r.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    r
}

/// The `access_token` query parameter, accepted only where browsers cannot send headers
/// (EventSource, `<video src>`, download links).
fn query_token(req: &Request) -> Option<String> {
    let path = req.uri().path();
    if !(path.starts_with("/v1/events/") || path.starts_with("/v1/outputs/")) {
        return None;
    }
    req.uri().query()?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == "access_token").then(|| v.to_string())
    })
}

/// Middleware for `/v1/*`: resolves the caller to an [`Owner`] or answers 401.
pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let auth = &state.auth;
    if !auth.required() {
        req.extensions_mut().insert(Owner("local".into()));
        return next.run(req).await;
    }
    let presented = match req.headers().get(header::AUTHORIZATION) {
        Some(value) => {
            let Some(token) = value.to_str().ok().and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            }) else {
                return unauthorized("the Authorization header is not `Bearer TOKEN`");
            };
            Some(token.trim().to_string())
        }
        None => query_token(&req),
    };
    let Some(token) = presented else {
        return unauthorized("this server needs a token");
    };
    match auth.owner_of(&token) {
        Some(owner) => {
            req.extensions_mut().insert(owner);
            next.run(req).await
        }
        None => unauthorized("the token is not accepted by this server"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_map_to_stable_distinct_owners() {
        let auth = Auth::new(&[
            "alpha-token-0123456789".into(),
            "beta-token-0123456789".into(),
        ]);
        let a = auth.owner_of("alpha-token-0123456789").unwrap();
        let b = auth.owner_of("beta-token-0123456789").unwrap();
        assert_ne!(a, b);
        assert_eq!(a, auth.owner_of("alpha-token-0123456789").unwrap());
        assert!(!a.0.contains("alpha"));
        assert!(auth.owner_of("alpha-token-012345678").is_none());
        assert!(auth.owner_of("").is_none());
        assert!(!Auth::new(&[]).required());
    }
}
