use kinema_core::Result;
use kinema_server::ServeConfig;

use crate::cluster_args::WorkerArgs;

pub fn run(args: WorkerArgs) -> Result<()> {
    crate::logging::init(args.backend.log_format);
    // A worker is a server without the HTTP API: the same limits and queue settings. It
    // listens only for /metrics, which needs no token, so the API address stays unused.
    let unused = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let mut config = ServeConfig::new(unused, args.data);
    config.workers = args.concurrency as usize;
    config.engines = Some(args.engines);
    config.worker_id = args.id;
    config.motions = args
        .motions
        .as_deref()
        .map(kinema_rig::MotionLibrary::load)
        .transpose()?;
    super::serve::apply_backend(&mut config, &args.backend)?;
    kinema_server::worker::run_blocking(config, args.metrics_addr)
}
