//! Flags shared by `kinema serve` and `kinema worker`: where the queue and the files
//! are, and how the process logs; and `kinema worker`'s own.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

#[derive(Args, Debug)]
pub struct BackendArgs {
    /// Task queue: `sqlite` (a file in --data, this process only) or
    /// `postgres://USER:PASSWORD@HOST:5432/DATABASE`, shared with other API servers and
    /// `kinema worker` processes (`?sslmode=require` for TLS).
    #[arg(
        long,
        value_name = "URL",
        env = "KINEMA_QUEUE",
        hide_env_values = true,
        default_value = "sqlite"
    )]
    pub queue: String,

    /// Uploads and outputs: a folder, `file:///path`, or `s3://BUCKET/PREFIX` (endpoint,
    /// region and keys from AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID,
    /// AWS_SECRET_ACCESS_KEY or the --s3-* flags) [default: --data]
    #[arg(long, value_name = "URL", env = "KINEMA_STORE")]
    pub store: Option<String>,

    /// S3 endpoint of an S3-compatible store (MinIO, Garage, Ceph, R2, …).
    #[arg(long, value_name = "URL")]
    pub s3_endpoint: Option<String>,

    /// S3 region.
    #[arg(long, value_name = "REGION")]
    pub s3_region: Option<String>,

    /// S3 access key id (prefer the AWS_ACCESS_KEY_ID variable).
    #[arg(long, value_name = "ID")]
    pub s3_access_key_id: Option<String>,

    /// S3 secret key (prefer AWS_SECRET_ACCESS_KEY: flags are visible in `ps`).
    #[arg(long, value_name = "KEY")]
    pub s3_secret_access_key: Option<String>,

    /// Runs of one task before it fails: a crash, an expired lease or a store outage
    /// each use one.
    #[arg(long, value_name = "N", default_value_t = 3,
          value_parser = clap::value_parser!(u32).range(1..=100))]
    pub max_attempts: u32,

    /// Seconds a worker keeps a claimed task without a heartbeat before another may
    /// take it over (shared queue; renewed every third of it).
    #[arg(long, value_name = "SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(3..=3600))]
    pub lease: u64,

    /// Log lines as text or as JSON objects (one per line), to stderr. RUST_LOG filters.
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: LogFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Args, Debug)]
#[command(after_help = "Examples:
  kinema worker --queue postgres://kinema:PW@db:5432/kinema --store s3://assets/kinema
  kinema worker --engines wan --concurrency 1 --metrics-addr 0.0.0.0:9464   # a GPU machine
  eval \"$(tools/cluster/dev-up.sh /tmp/kinema-dev)\" && kinema worker --data /tmp/w1
Clusters are described in docs/DEPLOY.md.")]
pub struct WorkerArgs {
    #[command(flatten)]
    pub backend: BackendArgs,

    /// Folder for renders in progress and local copies of inputs (created if missing;
    /// one per worker process).
    #[arg(long, value_name = "DIR", default_value = "kinema-worker")]
    pub data: PathBuf,

    /// Renders at once (each also uses the rayon pool: about one per few cores, or one
    /// per GPU).
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=256))]
    pub concurrency: u32,

    /// Engines this machine runs; it claims only their tasks (`rig` on CPU machines,
    /// `wan` on GPU machines with the model pulled).
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        default_value = "rig"
    )]
    pub engines: Vec<String>,

    /// Where /metrics (Prometheus) and /healthz are served; port 0 picks a free one.
    #[arg(long, value_name = "IP:PORT", default_value = "127.0.0.1:9464")]
    pub metrics_addr: SocketAddr,

    /// This worker's name in the queue and the logs [default: HOST-PID].
    #[arg(long, value_name = "NAME")]
    pub id: Option<String>,

    /// A folder of motion files added to the built-in motions for rig tasks: give every
    /// worker the one the API servers were given, so they agree on action names.
    #[arg(long, value_name = "DIR")]
    pub motions: Option<PathBuf>,
}
