//! Kling's API token: an HS256 JSON Web Token `{iss: access key, exp: now + 1800,
//! nbf: now - 5}` signed with the secret key, minted again shortly before it expires.

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How long a token is valid (Kling's documented example).
pub const LIFETIME_S: u64 = 1800;
/// `nbf` lies this far in the past, for clocks slightly ahead of the server's.
pub const NOT_BEFORE_SLACK_S: u64 = 5;
/// A token with less than this left is replaced before use, so none expires in flight.
pub const REMINT_MARGIN_S: u64 = 300;

pub struct JwtMinter {
    access_key: String,
    secret_key: String,
    clock: fn() -> u64,
    cached: Mutex<Option<(String, u64)>>,
}

impl std::fmt::Debug for JwtMinter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        f.debug_struct("JwtMinter")
            .field("access_key", &self.access_key)
            .finish_non_exhaustive()
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl JwtMinter {
    pub fn new(access_key: &str, secret_key: &str) -> Self {
        Self::with_clock(access_key, secret_key, unix_now)
    }

    /// A minter reading the time from `clock` (seconds since the epoch), for tests.
    pub fn with_clock(access_key: &str, secret_key: &str, clock: fn() -> u64) -> Self {
        JwtMinter {
            access_key: access_key.to_string(),
            secret_key: secret_key.to_string(),
            clock,
            cached: Mutex::new(None),
        }
    }

    /// A token valid for at least [`REMINT_MARGIN_S`] more seconds.
    pub fn token(&self) -> String {
        let now = (self.clock)();
        let mut cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((token, exp)) = cached.as_ref() {
            if *exp > now + REMINT_MARGIN_S {
                return token.clone();
            }
        }
        let exp = now + LIFETIME_S;
        let token = self.mint(now, exp);
        *cached = Some((token.clone(), exp));
        token
    }

    /// Drops the cached token (after the server called it expired or not yet valid).
    pub fn forget(&self) {
        *self.cached.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    fn mint(&self, now: u64, exp: u64) -> String {
        let header = serde_json::json!({"alg": "HS256", "typ": "JWT"});
        let claims = serde_json::json!({
            "iss": self.access_key,
            "exp": exp,
            "nbf": now.saturating_sub(NOT_BEFORE_SLACK_S),
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.secret_key.as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        mac.update(signing_input.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{signing_input}.{signature}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    static NOW: AtomicU64 = AtomicU64::new(1_700_000_000);

    fn fake_clock() -> u64 {
        NOW.load(Ordering::SeqCst)
    }

    fn claims(token: &str) -> serde_json::Value {
        let payload = token.split('.').nth(1).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
    }

    #[test]
    fn tokens_carry_the_documented_claims_and_are_reminted_before_expiry() {
        let m = JwtMinter::with_clock("ak-test", "sk-test", fake_clock);
        let t0 = fake_clock();
        let first = m.token();
        let c = claims(&first);
        assert_eq!(c["iss"], "ak-test");
        assert_eq!(c["exp"], t0 + 1800);
        assert_eq!(c["nbf"], t0 - 5);
        NOW.store(t0 + 1000, Ordering::SeqCst);
        assert_eq!(m.token(), first, "still fresh: reused");
        NOW.store(t0 + 1500, Ordering::SeqCst);
        let second = m.token();
        assert_ne!(second, first, "within 5 minutes of expiry: a new one");
        assert_eq!(claims(&second)["exp"], t0 + 1500 + 1800);
        m.forget();
        NOW.store(t0 + 1501, Ordering::SeqCst);
        assert_ne!(m.token(), second);
    }

    #[test]
    fn the_signature_is_hmac_sha256_of_header_and_claims() {
        let m = JwtMinter::with_clock("ak", "secret", || 1000);
        let token = m.token();
        let (input, sig) = token.rsplit_once('.').unwrap();
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(b"secret").unwrap();
        mac.update(input.as_bytes());
        mac.verify_slice(&URL_SAFE_NO_PAD.decode(sig).unwrap())
            .expect("valid signature");
        let header: serde_json::Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(input.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(header, serde_json::json!({"alg": "HS256", "typ": "JWT"}));
        assert!(!format!("{m:?}").contains("secret"));
    }
}
