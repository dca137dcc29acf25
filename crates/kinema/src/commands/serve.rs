use kinema_core::Result;
use kinema_server::ServeConfig;

use crate::cli::ServeArgs;

pub fn run(args: ServeArgs) -> Result<()> {
    let mut config = ServeConfig::new(args.addr, args.data);
    config.workers = args.workers as usize;
    config.tokens = args.tokens;
    config.quota = args.quota as usize;
    config.motions = args
        .motions
        .as_deref()
        .map(kinema_rig::MotionLibrary::load)
        .transpose()?;
    // `main` is synchronous; this builds the async runtime and blocks until Ctrl-C.
    kinema_server::serve_blocking(config)
}
