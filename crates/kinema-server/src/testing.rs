//! The services `tools/cluster/dev-up.sh DIR` started, for tests and benchmarks that
//! need a real PostgreSQL and a real S3 server (feature `testing`).
//!
//! They are found through `KINEMA_DEV_DIR` (which `eval "$(dev-up.sh DIR)"` exports, and
//! `.ci/run` sets). Without it a test says loudly that it is skipped and passes on a
//! developer machine, but fails when `CI` is set, because CI has just started them.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::backend::{QueueLocation, S3Options, StoreLocation};

const START: &str = "eval \"$(tools/cluster/dev-up.sh --install /tmp/kinema-dev)\"";

/// A running dev cluster's coordinates.
#[derive(Clone, Debug)]
pub struct DevServices {
    /// The DIR given to dev-up.sh.
    pub dir: PathBuf,
    /// `NAME=value` pairs of DIR/env.
    pub env: Vec<(String, String)>,
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

impl DevServices {
    /// The services of `$KINEMA_DEV_DIR`, or why there are none.
    pub fn from_env() -> Result<DevServices, String> {
        let dir = std::env::var_os("KINEMA_DEV_DIR")
            .map(PathBuf::from)
            .ok_or("KINEMA_DEV_DIR is not set")?;
        let text = std::fs::read_to_string(dir.join("env"))
            .map_err(|e| format!("cannot read {}/env: {e}", dir.display()))?;
        let env = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        Ok(DevServices { dir, env })
    }

    /// The services when `test` can run; `None` after saying why it is skipped. Under
    /// `CI` a missing service is a failure.
    pub fn for_test(test: &str) -> Option<DevServices> {
        match Self::from_env() {
            Ok(s) => Some(s),
            Err(why) if std::env::var_os("CI").is_some() => {
                panic!("{why}; CI must start PostgreSQL and S3 first: {START}")
            }
            Err(why) => {
                // Straight to stderr: the harness swallows the output of passing tests.
                let _ = writeln!(
                    std::io::stderr(),
                    "\n*** SKIPPED {test}: {why} ***\n*** start the services with: {START} ***\n"
                );
                None
            }
        }
    }

    pub fn var(&self, name: &str) -> &str {
        self.env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("{}/env has no {name}", self.dir.display()))
    }

    /// The `kinema` database's URL (for administration: tests use fresh databases).
    pub fn admin_url(&self) -> &str {
        self.var("KINEMA_QUEUE")
    }

    /// Creates an empty database with a unique name and returns its URL.
    pub async fn fresh_database(&self) -> String {
        let name = crate::ids::new_id("kt")
            .expect("random name")
            .replace('_', "");
        let admin = self.admin_url();
        let (client, conn) = tokio_postgres::connect(admin, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {admin}: {e}"));
        let driver = tokio::spawn(conn);
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create database");
        drop(client);
        let _ = driver.await;
        let (base, _) = admin.rsplit_once('/').expect("URL with a database");
        format!("{base}/{name}")
    }

    /// A queue location on a fresh database.
    pub async fn fresh_queue(&self) -> QueueLocation {
        QueueLocation::Postgres(self.fresh_database().await)
    }

    /// S3 settings from DIR/env, for in-process stores.
    pub fn s3_options(&self) -> S3Options {
        S3Options {
            endpoint: Some(self.var("AWS_ENDPOINT_URL").into()),
            region: Some(self.var("AWS_REGION").into()),
            access_key_id: Some(self.var("AWS_ACCESS_KEY_ID").into()),
            secret_access_key: Some(self.var("AWS_SECRET_ACCESS_KEY").into()),
        }
    }

    /// `s3://BUCKET/PREFIX` of the dev bucket, with a unique prefix per call.
    pub fn fresh_store_url(&self) -> String {
        let bucket = self
            .var("KINEMA_STORE")
            .trim_start_matches("s3://")
            .split('/')
            .next()
            .unwrap_or("kinema")
            .to_string();
        let prefix = crate::ids::new_id("t").expect("random prefix");
        format!("s3://{bucket}/{prefix}")
    }

    pub fn fresh_store(&self) -> StoreLocation {
        StoreLocation::parse(&self.fresh_store_url(), self.s3_options()).expect("dev store URL")
    }

    /// The AWS_* variables, for processes started with a `--store s3://…`.
    pub fn aws_env(&self) -> Vec<(String, String)> {
        self.env
            .iter()
            .filter(|(k, _)| k.starts_with("AWS_"))
            .cloned()
            .collect()
    }

    /// Every key under `PREFIX/under` of `store_url` (`s3://BUCKET/PREFIX`), listed
    /// through the S3 API, so tests see exactly which objects exist on any S3 server.
    pub async fn keys_under(&self, store_url: &str, under: &str) -> Vec<String> {
        use futures_util::TryStreamExt;
        use object_store::ObjectStore;
        let Ok(StoreLocation::S3 { bucket, prefix, .. }) =
            StoreLocation::parse(store_url, S3Options::default())
        else {
            panic!("{store_url} is not an s3:// URL");
        };
        let o = self.s3_options();
        let store = object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_endpoint(o.endpoint.unwrap_or_default())
            .with_region(o.region.unwrap_or_default())
            .with_access_key_id(o.access_key_id.unwrap_or_default())
            .with_secret_access_key(o.secret_access_key.unwrap_or_default())
            .with_allow_http(true)
            .build()
            .expect("S3 client");
        let root = object_store::path::Path::from(format!("{prefix}/{under}"));
        let mut keys: Vec<String> = store
            .list(Some(&root))
            .map_ok(|m| {
                let key = m.location.to_string();
                key.strip_prefix(&format!("{prefix}/"))
                    .unwrap_or(&key)
                    .to_string()
            })
            .try_collect()
            .await
            .expect("list the bucket");
        keys.sort();
        keys
    }

    fn script(&self, name: &str, service: &str) {
        let out = Command::new(repo_root().join("tools/cluster").join(name))
            .arg(&self.dir)
            .arg(service)
            // An outage cuts the store off mid-request, as a crash or a network cut does,
            // rather than letting it drain (Garage finishes requests in flight on SIGTERM).
            .env("KINEMA_DEV_S3_SIGNAL", "KILL")
            .output()
            .unwrap_or_else(|e| panic!("cannot run {name}: {e}"));
        assert!(
            out.status.success(),
            "{name} {service} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Stops `service` (`postgres` or `s3`).
    pub fn stop(&self, service: &str) {
        self.script("dev-down.sh", service);
    }

    /// Starts `service` again where it left off.
    pub fn start(&self, service: &str) {
        self.script("dev-up.sh", service);
    }

    /// Stops `service` until the returned guard is dropped (also when a test fails, so
    /// the next test finds it running).
    pub fn outage(&self, service: &'static str) -> Outage<'_> {
        self.stop(service);
        Outage {
            services: self,
            service,
        }
    }

    /// Stops `service`, waits `down`, starts it again.
    pub fn restart(&self, service: &'static str, down: Duration) {
        let outage = self.outage(service);
        std::thread::sleep(down);
        outage.end();
    }
}

/// A stopped service, started again on drop.
pub struct Outage<'a> {
    services: &'a DevServices,
    service: &'static str,
}

impl Outage<'_> {
    /// Starts the service again now.
    pub fn end(self) {}
}

impl Drop for Outage<'_> {
    fn drop(&mut self) {
        self.services.start(self.service);
    }
}
