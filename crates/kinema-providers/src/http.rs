//! Talking JSON to a provider, with the retry rules that keep a user from paying twice.
//!
//! - Reads (polls) and cancels are retried after `429`, `5xx` and transport failures, with
//!   exponential back-off, jitter and `Retry-After`, never after another `4xx`.
//! - A create is retried only when the answer proves it was not accepted (the provider's
//!   [`RetryRule`](crate::catalog::RetryRule)s, or a connection that never opened). After
//!   a `5xx` or a timeout it may have been accepted and billed, so it is never sent again
//!   blindly; the caller gets [`CallError::NoAnswer`] and decides.

use std::time::Duration;

use serde_json::Value;

use crate::catalog::ProviderSpec;
use crate::keys::Credentials;
use crate::wait::{backoff_seconds, Waiter};

/// Attempts per request before giving up (the task deadline may end it sooner).
const MAX_ATTEMPTS: u32 = 8;

/// What a request is for; it decides which failures may be retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    Create,
    Read,
    Cancel,
}

/// Why a request failed.
#[derive(Debug)]
pub enum CallError {
    /// The provider answered with an error (after the retries it allows).
    Status {
        status: u16,
        /// The provider's own error code (Kling's `code`).
        code: Option<i64>,
        message: String,
    },
    /// The request may have reached the provider, but no answer came back.
    NoAnswer { detail: String },
    /// Kinema stopped waiting: interrupted, or past the deadline.
    Stopped(kinema_core::Error),
}

/// A JSON client for one provider.
pub struct Client {
    pub provider: &'static ProviderSpec,
    base: String,
    credentials: Credentials,
    agent: ureq::Agent,
    headers: Vec<(&'static str, &'static str)>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("provider", &self.provider.name)
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// The HTTP agent: connect and read timeouts so a stalled connection becomes a retry
/// instead of a hang.
pub fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(15))
        .timeout_read(Duration::from_secs(120))
        .timeout_write(Duration::from_secs(120))
        .user_agent(concat!("kinema/", env!("CARGO_PKG_VERSION")))
        .build()
}

enum Outcome {
    Ok(Value),
    Status {
        status: u16,
        retry_after: Option<f64>,
        body: Value,
    },
    Transport {
        sent: bool,
        detail: String,
    },
}

impl Client {
    pub fn new(
        provider: &'static ProviderSpec,
        base: String,
        credentials: Credentials,
        headers: Vec<(&'static str, &'static str)>,
    ) -> Self {
        Client {
            provider,
            base,
            credentials,
            agent: agent(),
            headers,
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn agent(&self) -> &ureq::Agent {
        &self.agent
    }

    /// Sends `method path` (with `body` as JSON), retrying as `call` allows.
    pub fn call(
        &self,
        call: Call,
        method: &str,
        path: &str,
        body: Option<&Value>,
        waiter: &Waiter<'_>,
    ) -> Result<Value, CallError> {
        let mut attempt = 0;
        let mut reminted = false;
        loop {
            waiter.check().map_err(CallError::Stopped)?;
            let (retryable, retry_after, failure) = match self.send(method, path, body) {
                Outcome::Ok(v) => return Ok(v),
                Outcome::Status {
                    status,
                    retry_after,
                    body,
                } => {
                    let code = body.get("code").and_then(Value::as_i64);
                    // An expired or not-yet-valid Kling token: mint a new one, once.
                    if status == 401 && matches!(code, Some(1003 | 1004)) && !reminted {
                        if let Credentials::Jwt(m) = &self.credentials {
                            m.forget();
                            reminted = true;
                            continue;
                        }
                    }
                    let retryable = match call {
                        Call::Create => self.create_not_accepted(status, code),
                        Call::Read | Call::Cancel => status == 429 || status >= 500,
                    };
                    let failure = CallError::Status {
                        status,
                        code,
                        message: error_message(&body),
                    };
                    (retryable, retry_after, failure)
                }
                Outcome::Transport { sent, detail } => {
                    let retryable = call != Call::Create || !sent;
                    (retryable, None, CallError::NoAnswer { detail })
                }
            };
            attempt += 1;
            if !retryable || attempt >= MAX_ATTEMPTS {
                return Err(failure);
            }
            let wait = backoff_seconds(&self.provider.poll, attempt - 1, retry_after);
            waiter.sleep(wait).map_err(CallError::Stopped)?;
        }
    }

    /// Whether an answer to a create proves it was not accepted (so it may be resent).
    pub fn create_not_accepted(&self, status: u16, code: Option<i64>) -> bool {
        self.provider.create_retry.iter().any(|rule| {
            rule.status == status
                && match &rule.codes {
                    None => true,
                    Some(codes) => code.is_some_and(|c| codes.contains(&c)),
                }
        })
    }

    fn send(&self, method: &str, path: &str, body: Option<&Value>) -> Outcome {
        let url = format!("{}{path}", self.base);
        let mut request = self
            .agent
            .request(method, &url)
            .set("Accept", "application/json");
        request = match &self.credentials {
            Credentials::Bearer(key) => request.set("Authorization", &format!("Bearer {key}")),
            Credentials::Jwt(minter) => {
                request.set("Authorization", &format!("Bearer {}", minter.token()))
            }
        };
        for (name, value) in &self.headers {
            request = request.set(name, value);
        }
        let result = match body {
            Some(json) => request.send_json(json),
            None => request.call(),
        };
        match result {
            Ok(response) => {
                let status = response.status();
                let text = response.into_string().unwrap_or_default();
                if status == 204 || text.trim().is_empty() {
                    return Outcome::Ok(Value::Null);
                }
                match serde_json::from_str(&text) {
                    Ok(v) => Outcome::Ok(v),
                    Err(e) => Outcome::Transport {
                        sent: true,
                        detail: format!("the answer to {method} {path} is not JSON: {e}"),
                    },
                }
            }
            Err(ureq::Error::Status(status, response)) => {
                let retry_after = response.header("Retry-After").and_then(parse_retry_after);
                let text = response.into_string().unwrap_or_default();
                let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
                Outcome::Status {
                    status,
                    retry_after,
                    body,
                }
            }
            Err(ureq::Error::Transport(t)) => Outcome::Transport {
                // Nothing left this machine when the name did not resolve or the
                // connection was refused.
                sent: !matches!(
                    t.kind(),
                    ureq::ErrorKind::Dns
                        | ureq::ErrorKind::ConnectionFailed
                        | ureq::ErrorKind::InvalidUrl
                        | ureq::ErrorKind::UnknownScheme
                ),
                detail: t.to_string(),
            },
        }
    }
}

/// `Retry-After` as seconds: a number of seconds, or an HTTP date.
pub fn parse_retry_after(value: &str) -> Option<f64> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then_some(secs.min(3600.0));
    }
    let when = httpdate::parse_http_date(v).ok()?;
    let wait = when
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default();
    Some(wait.as_secs_f64().min(3600.0))
}

/// The human-readable part of an error body, whatever the provider calls it.
pub fn error_message(body: &Value) -> String {
    let pick = |v: &Value| -> Option<String> {
        match v {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Value::Object(o) => o.get("message").and_then(Value::as_str).map(str::to_string),
            _ => None,
        }
    };
    ["error", "detail", "message", "failure"]
        .iter()
        .find_map(|k| body.get(k).and_then(pick))
        .or_else(|| pick(body))
        .unwrap_or_else(|| "no message".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        assert_eq!(parse_retry_after("3"), Some(3.0));
        assert_eq!(parse_retry_after(" 0.5 "), Some(0.5));
        assert_eq!(parse_retry_after("-1"), None);
        let soon = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(30));
        let s = parse_retry_after(&soon).unwrap();
        assert!((28.0..=30.0).contains(&s), "{s}");
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(0.0)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn error_messages_are_found_in_each_providers_shape() {
        let runway = serde_json::json!({"error": "Invalid ratio"});
        let luma = serde_json::json!({"detail": "Invalid API key"});
        let kling = serde_json::json!({"code": 1201, "message": "duration is invalid"});
        assert_eq!(error_message(&runway), "Invalid ratio");
        assert_eq!(error_message(&luma), "Invalid API key");
        assert_eq!(error_message(&kling), "duration is invalid");
        assert_eq!(
            error_message(&Value::String("bad gateway".into())),
            "bad gateway"
        );
    }
}
