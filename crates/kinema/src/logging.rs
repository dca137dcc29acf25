//! Log output of the long-running commands (`serve`, `worker`): tracing events to stderr,
//! as text for people or as one JSON object per line for log collectors.

use tracing_subscriber::EnvFilter;

use crate::cluster_args::LogFormat;

/// Installs the subscriber; `RUST_LOG` (e.g. `kinema_server=debug`) overrides the
/// default level, `info`.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let installed = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
    };
    // Only fails if one is installed already, which is fine.
    let _ = installed;
}
