use std::time::Duration;

use kinema_core::Result;
use kinema_server::backend::{QueueLocation, S3Options, StoreLocation};
use kinema_server::ServeConfig;

use crate::cli::ServeArgs;
use crate::cluster_args::BackendArgs;

pub fn run(args: ServeArgs) -> Result<()> {
    crate::logging::init(args.backend.log_format);
    let mut config = ServeConfig::new(args.addr, args.data);
    config.workers = args.workers as usize;
    config.tokens = args.tokens;
    config.quota = args.quota as usize;
    config.motions = args
        .motions
        .as_deref()
        .map(kinema_rig::MotionLibrary::load)
        .transpose()?;
    apply_backend(&mut config, &args.backend)?;
    config.presign = args.presign.then(|| Duration::from_secs(args.presign_ttl));
    config.spend_limit_usd = args.spend_limit;
    // `main` is synchronous; this builds the async runtime and blocks until Ctrl-C.
    kinema_server::serve_blocking(config)
}

/// The queue, store and retry flags shared with `kinema worker`.
pub fn apply_backend(config: &mut ServeConfig, args: &BackendArgs) -> Result<()> {
    config.queue = QueueLocation::parse(&args.queue)?;
    let s3 = S3Options {
        endpoint: args.s3_endpoint.clone(),
        region: args.s3_region.clone(),
        access_key_id: args.s3_access_key_id.clone(),
        secret_access_key: args.s3_secret_access_key.clone(),
    };
    config.store = StoreLocation::parse(args.store.as_deref().unwrap_or(""), s3)?;
    config.max_attempts = args.max_attempts;
    config.lease = Duration::from_secs(args.lease);
    Ok(())
}
