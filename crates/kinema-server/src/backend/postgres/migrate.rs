//! Versioned schema migrations, applied on start.
//!
//! Each migration is a SQL file under `migrations/postgres/`, applied once, in order, in
//! one transaction with its row in `kinema_schema`, under an advisory lock so API servers
//! and workers starting together apply it exactly once. A database migrated by a newer
//! Kinema is refused rather than used: an older binary would write rows the newer schema
//! does not expect. (Hand-written because it is this small and the refusal message must
//! name both versions; the pool crate has no migrator.)

use tokio_postgres::Client;

use super::connect::pg_error;
use crate::backend::BackendResult;

pub struct Migration {
    pub version: i32,
    pub name: &'static str,
    pub sql: &'static str,
}

/// Append only: a shipped migration is never edited, a change is a new file.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "queue",
        sql: include_str!("../../../migrations/postgres/0001_queue.sql"),
    },
    Migration {
        version: 2,
        name: "provider_tasks",
        sql: include_str!("../../../migrations/postgres/0002_provider_tasks.sql"),
    },
];

/// Serialises concurrent migrators across the cluster ("kinema" in ASCII).
const LOCK_KEY: i64 = 0x6b69_6e65_6d61;

/// What [`migrate`] found and did.
#[derive(Debug, PartialEq, Eq)]
pub struct Migrated {
    pub from: i32,
    pub to: i32,
}

pub fn latest() -> i32 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// Brings the database up to [`latest`], or refuses one that is newer.
pub async fn migrate(client: &mut Client) -> BackendResult<Migrated> {
    let tx = client.transaction().await.map_err(pg_error)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_KEY])
        .await
        .map_err(pg_error)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS kinema_schema (
           version    INTEGER PRIMARY KEY,
           name       TEXT NOT NULL,
           applied_by TEXT NOT NULL,
           applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    )
    .await
    .map_err(pg_error)?;
    let current = tx
        .query_opt(
            "SELECT version, applied_by FROM kinema_schema ORDER BY version DESC LIMIT 1",
            &[],
        )
        .await
        .map_err(pg_error)?
        .map(|row| (row.get::<_, i32>(0), row.get::<_, String>(1)));
    let from = current.as_ref().map_or(0, |c| c.0);
    if let Some((version, by)) = current.filter(|c| c.0 > latest()) {
        return Err(kinema_core::Error::invalid(
            format!(
                "the queue database is at schema version {version} (migrated by kinema {by}), newer than this kinema {} understands (version {})",
                env!("CARGO_PKG_VERSION"),
                latest()
            ),
            "run the same or a newer kinema on every server and worker; an older binary must not write to a migrated database (docs/DEPLOY.md, Upgrades)",
        )
        .into());
    }
    for m in MIGRATIONS.iter().filter(|m| m.version > from) {
        tx.batch_execute(m.sql).await.map_err(pg_error)?;
        tx.execute(
            "INSERT INTO kinema_schema (version, name, applied_by) VALUES ($1, $2, $3)",
            &[&m.version, &m.name, &env!("CARGO_PKG_VERSION")],
        )
        .await
        .map_err(pg_error)?;
        tracing::info!(
            version = m.version,
            name = m.name,
            "applied queue migration"
        );
    }
    tx.commit().await.map_err(pg_error)?;
    Ok(Migrated {
        from,
        to: latest().max(from),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_in_order_from_one() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i32 + 1, "{}", m.name);
            assert!(!m.sql.trim().is_empty());
        }
    }
}
