//! The one request shape every adapter turns into its provider's JSON.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

/// An input picture as the provider will fetch it.
#[derive(Clone, Debug, PartialEq)]
pub enum ImageRef {
    /// Sent inline: the encoded bytes and their media type (`image/png`).
    Inline { bytes: Vec<u8>, mime: &'static str },
    /// Fetched by the provider from this URL (an upload the user configured).
    Url(String),
}

impl ImageRef {
    pub fn is_inline(&self) -> bool {
        matches!(self, ImageRef::Inline { .. })
    }

    /// `data:image/png;base64,…`, or the URL.
    pub fn data_uri_or_url(&self) -> String {
        match self {
            ImageRef::Inline { bytes, mime } => {
                format!("data:{mime};base64,{}", STANDARD.encode(bytes))
            }
            ImageRef::Url(u) => u.clone(),
        }
    }

    /// Bare base64 (no `data:` prefix, as Kling wants it), or the URL.
    pub fn base64_or_url(&self) -> String {
        match self {
            ImageRef::Inline { bytes, .. } => STANDARD.encode(bytes),
            ImageRef::Url(u) => u.clone(),
        }
    }
}

/// Everything a provider is asked for, whichever provider it is.
#[derive(Clone, Debug, PartialEq)]
pub struct ProviderRequest {
    pub model: String,
    pub prompt: String,
    pub negative_prompt: Option<String>,
    pub first_image: ImageRef,
    pub last_image: Option<ImageRef>,
    /// Seconds, one of the model's durations.
    pub duration_s: u32,
    /// The API's shape name (`960:960`, `16:9`), for models that take one.
    pub ratio: Option<String>,
    pub seed: Option<u64>,
    /// Ask the provider for a seamless loop.
    pub looping: bool,
    /// Luma's resolution or Kling's mode.
    pub quality: Option<String>,
    /// Kinema's own id for the task, for providers that accept one (Kling's
    /// `external_task_id`), so an interrupted create can be found again.
    pub external_id: String,
}
