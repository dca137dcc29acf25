//! `--queue` and `--store` values: where tasks and files live, checked before anything
//! connects, with errors that show the accepted shapes.

use std::path::PathBuf;

use kinema_core::{Error, Result};

/// Where the task queue lives.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum QueueLocation {
    /// The embedded SQLite file in the data directory: one `kinema serve`, its own workers.
    #[default]
    Sqlite,
    /// A PostgreSQL database shared by API servers and `kinema worker` processes.
    Postgres(String),
}

/// Where uploads and outputs live.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum StoreLocation {
    /// The data directory (`uploads/`, `outputs/`), as `kinema serve` always did.
    #[default]
    Data,
    /// Another local (or network-mounted) folder.
    Local(PathBuf),
    /// An S3 or S3-compatible bucket, with every key under `prefix`.
    S3 {
        bucket: String,
        prefix: String,
        options: S3Options,
    },
}

/// S3 settings given as flags; anything left `None` comes from the standard AWS
/// environment variables (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct S3Options {
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
}

impl std::fmt::Debug for S3Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        f.debug_struct("S3Options")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "…"),
            )
            .finish()
    }
}

const QUEUE_HINT: &str = "use `--queue sqlite` (the default, in --data) or `--queue postgres://USER:PASSWORD@HOST:5432/DATABASE`";
const STORE_HINT: &str =
    "use `--store s3://BUCKET/PREFIX`, `--store file:///srv/kinema`, or leave it out to keep files in --data";

impl QueueLocation {
    pub fn parse(text: &str) -> Result<QueueLocation> {
        let text = text.trim();
        if text.is_empty() || text == "sqlite" {
            return Ok(QueueLocation::Sqlite);
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            text.parse::<tokio_postgres::Config>().map_err(|e| {
                Error::invalid(
                    format!("the --queue URL is not a valid PostgreSQL URL: {e}"),
                    QUEUE_HINT,
                )
            })?;
            return Ok(QueueLocation::Postgres(text.to_string()));
        }
        Err(Error::invalid(
            format!("`{}` is not a queue this server knows", redact(text)),
            QUEUE_HINT,
        ))
    }

    pub fn is_shared(&self) -> bool {
        matches!(self, QueueLocation::Postgres(_))
    }

    /// For logs: the URL without its password.
    pub fn display(&self) -> String {
        match self {
            QueueLocation::Sqlite => "sqlite".into(),
            QueueLocation::Postgres(url) => redact(url),
        }
    }
}

impl StoreLocation {
    pub fn parse(text: &str, options: S3Options) -> Result<StoreLocation> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(StoreLocation::Data);
        }
        if let Some(rest) = text.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            let bucket_ok = (3..=63).contains(&bucket.len())
                && bucket.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.'
                });
            if !bucket_ok {
                return Err(Error::invalid(
                    format!("`{bucket}` is not an S3 bucket name"),
                    "bucket names are 3 to 63 lowercase letters, digits, `-` or `.`: --store s3://kinema/prod",
                ));
            }
            let prefix = prefix.trim_matches('/');
            if prefix.split('/').any(|p| p == "." || p == "..") {
                return Err(Error::invalid(
                    format!("the key prefix `{prefix}` has `.` or `..` parts"),
                    STORE_HINT,
                ));
            }
            return Ok(StoreLocation::S3 {
                bucket: bucket.to_string(),
                prefix: prefix.to_string(),
                options,
            });
        }
        if let Some(path) = text.strip_prefix("file://") {
            if !path.starts_with('/') {
                return Err(Error::invalid(
                    format!("`{text}` is not an absolute file:// URL"),
                    "write file:///absolute/path (three slashes), or just the path",
                ));
            }
            return Ok(StoreLocation::Local(PathBuf::from(path)));
        }
        if text.contains("://") {
            return Err(Error::invalid(
                format!("`{text}` is not a store this server knows"),
                STORE_HINT,
            ));
        }
        Ok(StoreLocation::Local(PathBuf::from(text)))
    }

    pub fn is_s3(&self) -> bool {
        matches!(self, StoreLocation::S3 { .. })
    }

    pub fn display(&self) -> String {
        match self {
            StoreLocation::Data => "the data directory".into(),
            StoreLocation::Local(p) => p.display().to_string(),
            StoreLocation::S3 { bucket, prefix, .. } => format!("s3://{bucket}/{prefix}"),
        }
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:…@host/db`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:…@{host}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_urls_parse_or_say_what_is_accepted() {
        assert_eq!(
            QueueLocation::parse("sqlite").unwrap(),
            QueueLocation::Sqlite
        );
        let pg = QueueLocation::parse("postgres://kinema:pw@127.0.0.1:5432/kinema").unwrap();
        assert!(pg.is_shared());
        assert_eq!(pg.display(), "postgres://kinema:…@127.0.0.1:5432/kinema");
        let e = QueueLocation::parse("redis://x").unwrap_err();
        assert!(e.hint.unwrap().contains("postgres://"));
        assert!(QueueLocation::parse("postgres://h:notaport/db").is_err());
    }

    #[test]
    fn store_urls_parse_or_say_what_is_accepted() {
        let s3 = StoreLocation::parse("s3://kinema-dev/prod/a/", S3Options::default()).unwrap();
        assert_eq!(
            s3,
            StoreLocation::S3 {
                bucket: "kinema-dev".into(),
                prefix: "prod/a".into(),
                options: S3Options::default()
            }
        );
        assert!(StoreLocation::parse("s3://Bad_Bucket", S3Options::default()).is_err());
        assert!(StoreLocation::parse("s3://ok-bucket/../x", S3Options::default()).is_err());
        assert_eq!(
            StoreLocation::parse("file:///srv/k", S3Options::default()).unwrap(),
            StoreLocation::Local("/srv/k".into())
        );
        assert!(StoreLocation::parse("file://rel", S3Options::default()).is_err());
        assert!(StoreLocation::parse("gs://b", S3Options::default()).is_err());
        assert_eq!(
            StoreLocation::parse("", S3Options::default()).unwrap(),
            StoreLocation::Data
        );
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let o = S3Options {
            secret_access_key: Some("hunter2".into()),
            ..S3Options::default()
        };
        assert!(!format!("{o:?}").contains("hunter2"));
    }
}
