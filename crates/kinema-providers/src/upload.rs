//! Putting an input picture where a provider that wants URLs can fetch it (Luma).
//!
//! Configured with `KINEMA_LUMA_UPLOAD_URL`: Kinema sends `PUT {url}/{sha256}.png` (with
//! `Authorization: KINEMA_LUMA_UPLOAD_AUTHORIZATION` when set) and gives Luma
//! `{KINEMA_LUMA_UPLOAD_PUBLIC_URL or url}/{sha256}.png`. Any store that takes a PUT and
//! serves the file publicly works: an S3 or R2 bucket behind a signing proxy, a WebDAV
//! folder, nginx with `dav_methods PUT`.

use kinema_core::{Error, Result};
use sha2::{Digest, Sha256};

pub const UPLOAD_URL_ENV: &str = "KINEMA_LUMA_UPLOAD_URL";
pub const PUBLIC_URL_ENV: &str = "KINEMA_LUMA_UPLOAD_PUBLIC_URL";
pub const AUTHORIZATION_ENV: &str = "KINEMA_LUMA_UPLOAD_AUTHORIZATION";

/// Where pictures are uploaded, and where the provider reads them.
#[derive(Clone, Debug, PartialEq)]
pub struct Uploader {
    pub put_base: String,
    pub public_base: String,
    pub authorization: Option<String>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().trim_end_matches('/').to_string())
        .filter(|v| !v.is_empty())
}

impl Uploader {
    /// The uploader configured in the environment, if any.
    pub fn from_env() -> Result<Option<Uploader>> {
        let Some(put_base) = env(UPLOAD_URL_ENV) else {
            return Ok(None);
        };
        if !put_base.starts_with("http://") && !put_base.starts_with("https://") {
            return Err(Error::invalid(
                format!("{UPLOAD_URL_ENV}={put_base} is not an http(s) URL"),
                "set it to a folder URL that accepts PUT, e.g. https://uploads.example.com/kinema",
            ));
        }
        Ok(Some(Uploader {
            public_base: env(PUBLIC_URL_ENV).unwrap_or_else(|| put_base.clone()),
            put_base,
            authorization: env(AUTHORIZATION_ENV),
        }))
    }

    /// Uploads `bytes` and returns the public URL.
    pub fn put(
        &self,
        agent: &ureq::Agent,
        bytes: &[u8],
        mime: &str,
        extension: &str,
    ) -> Result<String> {
        let name = format!("{:x}.{extension}", Sha256::digest(bytes));
        let mut request = agent
            .put(&format!("{}/{name}", self.put_base))
            .set("Content-Type", mime);
        if let Some(auth) = &self.authorization {
            request = request.set("Authorization", auth);
        }
        request.send_bytes(bytes).map_err(|e| {
            Error::invalid(
                format!("cannot upload the input picture to {}", self.put_base),
                format!(
                    "check {UPLOAD_URL_ENV} (and {AUTHORIZATION_ENV}); the store must accept PUT"
                ),
            )
            .with_source(e)
        })?;
        Ok(format!("{}/{name}", self.public_base))
    }
}
