//! The durable queue: tasks, uploads and every state change, in one SQLite file.
//!
//! All status changes go through [`Store::transition`], which applies only when the
//! task is still in the expected state and logs the change in `transitions` in the same
//! transaction. That is what makes "ends exactly once" hold: a second attempt to finish
//! a task (a worker racing a cancel, a re-run after a crash) finds the state changed and
//! does nothing.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use kinema_core::{Error, Result};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ids::now_ms;

pub(crate) mod provider_tasks;

/// Where a task is in its life. PENDING → RUNNING → SUCCEEDED | FAILED | CANCELLED;
/// PENDING → CANCELLED; RUNNING → PENDING only when a restart re-queues interrupted work.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Pending,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Pending,
        Status::Running,
        Status::Succeeded,
        Status::Failed,
        Status::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "PENDING",
            Status::Running => "RUNNING",
            Status::Succeeded => "SUCCEEDED",
            Status::Failed => "FAILED",
            Status::Cancelled => "CANCELLED",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s))
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, Status::Succeeded | Status::Failed | Status::Cancelled)
    }

    /// The state machine: the only moves a task may make.
    pub fn can_move_to(self, to: Status) -> bool {
        use Status::*;
        matches!(
            (self, to),
            (Pending, Running)
                | (Pending, Cancelled)
                | (Running, Succeeded)
                | (Running, Failed)
                | (Running, Cancelled)
                | (Running, Pending)
        )
    }
}

/// One task as stored.
#[derive(Clone, Debug)]
pub struct TaskRow {
    pub seq: i64,
    pub id: String,
    pub owner: String,
    pub status: Status,
    /// The request as submitted (an inline image replaced by its upload id).
    pub request: serde_json::Value,
    pub progress: f64,
    pub stage: Option<String>,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    /// JSON array of output descriptions, set when the task succeeds.
    pub outputs: serde_json::Value,
    /// JSON error detail, set when the task fails.
    pub error: Option<serde_json::Value>,
    /// How many times a worker started it (more than 1 after a crash re-queue).
    pub attempts: u32,
    /// Engine render time of the successful run, for overhead measurements.
    pub render_ms: Option<f64>,
}

/// A validated image, stored under `uploads/` with its id.
#[derive(Clone, Debug, PartialEq)]
pub struct UploadRow {
    pub id: String,
    pub owner: String,
    pub width: u32,
    pub height: u32,
    pub pixel_art: bool,
    pub bytes: u64,
}

/// What a submit did.
#[derive(Debug)]
pub enum Submitted {
    Created(TaskRow),
    /// The same owner already submitted with this idempotency key: that task.
    Existing(TaskRow),
    /// The owner has this many unfinished tasks, the quota.
    QuotaFull(usize),
}

/// A new task to queue.
pub struct NewTask<'a> {
    pub id: &'a str,
    pub owner: &'a str,
    /// The engine that renders it; shared queues hand it only to workers that run it.
    pub engine: &'a str,
    pub idempotency_key: Option<&'a str>,
    pub request: &'a serde_json::Value,
}

/// The result of asking to cancel.
#[derive(Debug)]
pub enum Cancel {
    NotFound,
    /// Was pending or running; now CANCELLED. `was_running` tells the queue to stop it.
    Cancelled {
        task: TaskRow,
        was_running: bool,
    },
    AlreadyFinished(TaskRow),
}

/// What to record along with a status change.
#[derive(Clone, Default)]
pub struct Finish {
    pub outputs: Option<serde_json::Value>,
    pub error: Option<serde_json::Value>,
    pub render_ms: Option<f64>,
}

impl Finish {
    /// A failure with `detail` as its error.
    pub fn error(detail: &crate::errors::ErrorDetail) -> Finish {
        Finish {
            error: serde_json::to_value(detail).ok(),
            ..Finish::default()
        }
    }
}

struct Inner {
    conn: Connection,
    /// Owner served last, for round-robin claiming.
    last_owner: Option<String>,
}

/// The SQLite-backed store; share it behind an `Arc`.
pub struct Store {
    inner: Mutex<Inner>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS uploads(
  id TEXT PRIMARY KEY, owner TEXT NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL,
  pixel_art INTEGER NOT NULL, bytes INTEGER NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS tasks(
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, owner TEXT NOT NULL,
  idempotency_key TEXT, status TEXT NOT NULL, request TEXT NOT NULL,
  progress REAL NOT NULL DEFAULT 0, stage TEXT, created_at INTEGER NOT NULL,
  started_at INTEGER, finished_at INTEGER, outputs TEXT NOT NULL DEFAULT '[]', error TEXT,
  attempts INTEGER NOT NULL DEFAULT 0, render_ms REAL);
CREATE UNIQUE INDEX IF NOT EXISTS tasks_idempotency ON tasks(owner, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS tasks_by_status ON tasks(status, owner, seq);
CREATE INDEX IF NOT EXISTS tasks_by_owner ON tasks(owner, seq);
CREATE TABLE IF NOT EXISTS transitions(
  task_id TEXT NOT NULL, from_status TEXT, to_status TEXT NOT NULL, at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS transitions_by_task ON transitions(task_id);
CREATE TABLE IF NOT EXISTS provider_tasks(
  task_id TEXT NOT NULL, key TEXT NOT NULL, entry TEXT NOT NULL, PRIMARY KEY(task_id, key));
";

const TASK_COLUMNS: &str = "seq, id, owner, status, request, progress, stage, created_at, \
     started_at, finished_at, outputs, error, attempts, render_ms";

fn db_error(e: rusqlite::Error) -> Error {
    Error::internal("the task database failed")
        .with_hint("check free disk space and that the --data directory is writable")
        .with_source(e)
}

fn parse_json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or(serde_json::Value::Null)
}

fn task_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<TaskRow> {
    let status: String = row.get(3)?;
    let request: String = row.get(4)?;
    let outputs: String = row.get(10)?;
    let error: Option<String> = row.get(11)?;
    Ok(TaskRow {
        seq: row.get(0)?,
        id: row.get(1)?,
        owner: row.get(2)?,
        status: Status::parse(&status).unwrap_or(Status::Failed),
        request: parse_json(&request),
        progress: row.get(5)?,
        stage: row.get(6)?,
        created_at: row.get(7)?,
        started_at: row.get(8)?,
        finished_at: row.get(9)?,
        outputs: parse_json(&outputs),
        error: error.as_deref().map(parse_json),
        attempts: row.get(12)?,
        render_ms: row.get(13)?,
    })
}

impl Store {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Store> {
        let conn = Connection::open(path).map_err(|e| {
            Error::internal(format!("cannot open the task database {}", path.display()))
                .with_hint("check that the --data directory is writable")
                .with_source(e)
        })?;
        Store::init(conn)
    }

    /// A throwaway database, for tests.
    pub fn in_memory() -> Result<Store> {
        Store::init(Connection::open_in_memory().map_err(db_error)?)
    }

    fn init(conn: Connection) -> Result<Store> {
        // WAL with NORMAL sync survives a killed process (not a power cut) without an
        // fsync per commit, which keeps submits fast.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db_error)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(db_error)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(db_error)?;
        conn.execute_batch(SCHEMA).map_err(db_error)?;
        Ok(Store {
            inner: Mutex::new(Inner {
                conn,
                last_owner: None,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave SQLite half-updated (transactions
        // roll back), so a poisoned lock is safe to keep using.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn insert_upload(&self, u: &UploadRow) -> Result<()> {
        self.lock()
            .conn
            .execute(
                "INSERT INTO uploads(id, owner, width, height, pixel_art, bytes, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    u.id,
                    u.owner,
                    u.width,
                    u.height,
                    u.pixel_art,
                    u.bytes as i64,
                    now_ms()
                ],
            )
            .map_err(db_error)?;
        Ok(())
    }

    /// The upload `id` if `owner` made it.
    pub fn upload(&self, owner: &str, id: &str) -> Result<Option<UploadRow>> {
        self.lock()
            .conn
            .query_row(
                "SELECT id, owner, width, height, pixel_art, bytes FROM uploads
                 WHERE id = ?1 AND owner = ?2",
                params![id, owner],
                |r| {
                    Ok(UploadRow {
                        id: r.get(0)?,
                        owner: r.get(1)?,
                        width: r.get(2)?,
                        height: r.get(3)?,
                        pixel_art: r.get(4)?,
                        bytes: r.get::<_, i64>(5)? as u64,
                    })
                },
            )
            .optional()
            .map_err(db_error)
    }

    /// Queues a task unless the key was used before or the owner's quota is full; all
    /// three checks and the insert happen under one lock, so concurrent submits agree.
    pub fn submit(&self, t: NewTask<'_>, quota: usize) -> Result<Submitted> {
        let mut inner = self.lock();
        let tx = inner.conn.transaction().map_err(db_error)?;
        if let Some(key) = t.idempotency_key {
            let existing = tx
                .query_row(
                    &format!(
                        "SELECT {TASK_COLUMNS} FROM tasks WHERE owner = ?1 AND idempotency_key = ?2"
                    ),
                    params![t.owner, key],
                    task_from_row,
                )
                .optional()
                .map_err(db_error)?;
            if let Some(task) = existing {
                return Ok(Submitted::Existing(task));
            }
        }
        let unfinished: i64 = tx
            .query_row(
                "SELECT COUNT(*) FROM tasks WHERE owner = ?1 AND status IN ('PENDING', 'RUNNING')",
                params![t.owner],
                |r| r.get(0),
            )
            .map_err(db_error)?;
        if unfinished as usize >= quota {
            return Ok(Submitted::QuotaFull(unfinished as usize));
        }
        let now = now_ms();
        tx.execute(
            "INSERT INTO tasks(id, owner, idempotency_key, status, request, created_at)
             VALUES (?1, ?2, ?3, 'PENDING', ?4, ?5)",
            params![t.id, t.owner, t.idempotency_key, t.request.to_string(), now],
        )
        .map_err(db_error)?;
        tx.execute(
            "INSERT INTO transitions(task_id, from_status, to_status, at) VALUES (?1, NULL, 'PENDING', ?2)",
            params![t.id, now],
        )
        .map_err(db_error)?;
        let task = tx
            .query_row(
                &format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = ?1"),
                params![t.id],
                task_from_row,
            )
            .map_err(db_error)?;
        tx.commit().map_err(db_error)?;
        Ok(Submitted::Created(task))
    }

    /// The task `id`; with `owner`, only if that owner made it.
    pub fn task(&self, owner: Option<&str>, id: &str) -> Result<Option<TaskRow>> {
        let inner = self.lock();
        Self::task_in(&inner.conn, owner, id)
    }

    fn task_in(conn: &Connection, owner: Option<&str>, id: &str) -> Result<Option<TaskRow>> {
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM tasks WHERE id = ?1 AND (?2 IS NULL OR owner = ?2)"
        );
        conn.query_row(&sql, params![id, owner], task_from_row)
            .optional()
            .map_err(db_error)
    }

    /// One page of `owner`'s tasks, newest first, starting below `before` (a `seq`);
    /// returns the page and the `seq` to continue from when there is more.
    pub fn list(
        &self,
        owner: &str,
        status: Option<Status>,
        before: Option<i64>,
        limit: usize,
    ) -> Result<(Vec<TaskRow>, Option<i64>)> {
        let inner = self.lock();
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM tasks WHERE owner = ?1 AND (?2 IS NULL OR status = ?2)
             AND (?3 IS NULL OR seq < ?3) ORDER BY seq DESC LIMIT ?4"
        );
        let mut stmt = inner.conn.prepare_cached(&sql).map_err(db_error)?;
        let mut rows = stmt
            .query_map(
                params![owner, status.map(Status::as_str), before, limit as i64 + 1],
                task_from_row,
            )
            .map_err(db_error)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(db_error)?;
        let next = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(|t| t.seq)
        } else {
            None
        };
        Ok((rows, next))
    }

    /// Moves the oldest pending task of the next owner in round-robin order to RUNNING
    /// and returns it, so one busy token cannot starve the others.
    pub fn claim_next(&self) -> Result<Option<TaskRow>> {
        let mut inner = self.lock();
        let heads: Vec<(String, String)> = {
            let mut stmt = inner
                .conn
                .prepare_cached(
                    "SELECT owner, (SELECT id FROM tasks t2 WHERE t2.owner = t.owner AND t2.status = 'PENDING'
                       ORDER BY seq LIMIT 1)
                     FROM tasks t WHERE status = 'PENDING' GROUP BY owner ORDER BY owner",
                )
                .map_err(db_error)?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(db_error)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(db_error)?;
            rows
        };
        if heads.is_empty() {
            return Ok(None);
        }
        let pick = match &inner.last_owner {
            Some(last) => heads.iter().find(|(o, _)| o > last).unwrap_or(&heads[0]),
            None => &heads[0],
        }
        .clone();
        inner.last_owner = Some(pick.0.clone());
        let tx = inner.conn.transaction().map_err(db_error)?;
        let moved = Self::transition_in(
            &tx,
            &pick.1,
            Status::Pending,
            Status::Running,
            &Finish::default(),
        )?;
        let task = if moved {
            Self::task_in(&tx, None, &pick.1)?
        } else {
            None
        };
        tx.commit().map_err(db_error)?;
        Ok(task)
    }

    /// Moves task `id` from `from` to `to` (recording `finish` for terminal states) if it
    /// is still in `from`; returns whether it moved. Refuses moves the state machine forbids.
    pub fn transition(&self, id: &str, from: Status, to: Status, finish: Finish) -> Result<bool> {
        let mut inner = self.lock();
        let tx = inner.conn.transaction().map_err(db_error)?;
        let moved = Self::transition_in(&tx, id, from, to, &finish)?;
        tx.commit().map_err(db_error)?;
        Ok(moved)
    }

    fn transition_in(
        conn: &Connection,
        id: &str,
        from: Status,
        to: Status,
        finish: &Finish,
    ) -> Result<bool> {
        if !from.can_move_to(to) {
            return Err(Error::internal(format!(
                "task {id}: {} → {} is not a valid transition",
                from.as_str(),
                to.as_str()
            )));
        }
        let now = now_ms();
        let changed = match to {
            Status::Running => conn.execute(
                "UPDATE tasks SET status = 'RUNNING', started_at = ?2, attempts = attempts + 1,
                   progress = 0, stage = 'queued' WHERE id = ?1 AND status = ?3",
                params![id, now, from.as_str()],
            ),
            Status::Pending => conn.execute(
                "UPDATE tasks SET status = 'PENDING', started_at = NULL, progress = 0, stage = NULL
                 WHERE id = ?1 AND status = ?2",
                params![id, from.as_str()],
            ),
            _ => conn.execute(
                "UPDATE tasks SET status = ?2, finished_at = ?3,
                   outputs = COALESCE(?4, outputs), error = ?5, render_ms = ?6,
                   progress = CASE WHEN ?2 = 'SUCCEEDED' THEN 1.0 ELSE progress END,
                   stage = CASE WHEN ?2 = 'SUCCEEDED' THEN 'done' ELSE stage END
                 WHERE id = ?1 AND status = ?7",
                params![
                    id,
                    to.as_str(),
                    now,
                    finish.outputs.as_ref().map(|v| v.to_string()),
                    finish.error.as_ref().map(|v| v.to_string()),
                    finish.render_ms,
                    from.as_str()
                ],
            ),
        }
        .map_err(db_error)?;
        if changed == 1 {
            conn.execute(
                "INSERT INTO transitions(task_id, from_status, to_status, at) VALUES (?1, ?2, ?3, ?4)",
                params![id, from.as_str(), to.as_str(), now],
            )
            .map_err(db_error)?;
        }
        Ok(changed == 1)
    }

    /// Records progress of a running task (ignored once it has left RUNNING).
    pub fn set_progress(&self, id: &str, progress: f64, stage: &str) -> Result<()> {
        self.lock()
            .conn
            .execute(
                "UPDATE tasks SET progress = ?2, stage = ?3 WHERE id = ?1 AND status = 'RUNNING'",
                params![id, progress.clamp(0.0, 1.0), stage],
            )
            .map_err(db_error)?;
        Ok(())
    }

    /// Cancels `owner`'s task `id` if it has not finished.
    pub fn cancel(&self, owner: &str, id: &str) -> Result<Cancel> {
        let mut inner = self.lock();
        let tx = inner.conn.transaction().map_err(db_error)?;
        let Some(task) = Self::task_in(&tx, Some(owner), id)? else {
            return Ok(Cancel::NotFound);
        };
        if task.status.is_terminal() {
            return Ok(Cancel::AlreadyFinished(task));
        }
        let was_running = task.status == Status::Running;
        let moved = Self::transition_in(
            &tx,
            id,
            task.status,
            Status::Cancelled,
            &Finish {
                error: None,
                ..Finish::default()
            },
        )?;
        let task = Self::task_in(&tx, None, id)?;
        tx.commit().map_err(db_error)?;
        match (moved, task) {
            (true, Some(task)) => Ok(Cancel::Cancelled { task, was_running }),
            (_, Some(task)) => Ok(Cancel::AlreadyFinished(task)),
            (_, None) => Ok(Cancel::NotFound),
        }
    }

    /// After a restart: every task left RUNNING by the previous process goes back to
    /// PENDING, unless it was already started `max_attempts` times (then it keeps taking
    /// the process down, and fails instead). Returns how many were re-queued and failed.
    pub fn requeue_interrupted(&self, max_attempts: u32) -> Result<(usize, usize)> {
        let mut inner = self.lock();
        let tx = inner.conn.transaction().map_err(db_error)?;
        let rows: Vec<(String, u32)> = {
            let mut stmt = tx
                .prepare("SELECT id, attempts FROM tasks WHERE status = 'RUNNING'")
                .map_err(db_error)?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(db_error)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(db_error)?;
            rows
        };
        let (mut requeued, mut failed) = (0, 0);
        for (id, attempts) in &rows {
            if *attempts >= max_attempts {
                let detail = crate::errors::ErrorDetail {
                    code: "interrupted".into(),
                    message: format!(
                        "the server stopped during each of this task's {attempts} attempts"
                    ),
                    hint:
                        "check the server log and memory limits; submit it again, perhaps smaller"
                            .into(),
                };
                let finish = Finish {
                    error: serde_json::to_value(&detail).ok(),
                    ..Finish::default()
                };
                Self::transition_in(&tx, id, Status::Running, Status::Failed, &finish)?;
                failed += 1;
            } else {
                Self::transition_in(
                    &tx,
                    id,
                    Status::Running,
                    Status::Pending,
                    &Finish::default(),
                )?;
                requeued += 1;
            }
        }
        tx.commit().map_err(db_error)?;
        Ok((requeued, failed))
    }

    /// Pending and running tasks per engine (`default_engine` for requests naming none).
    pub fn depth(&self, default_engine: &str) -> Result<Vec<crate::backend::Depth>> {
        let inner = self.lock();
        let mut stmt = inner
            .conn
            .prepare_cached(
                "SELECT COALESCE(json_extract(request, '$.engine'), ?1), status, COUNT(*)
                 FROM tasks WHERE status IN ('PENDING', 'RUNNING') GROUP BY 1, 2",
            )
            .map_err(db_error)?;
        let rows = stmt
            .query_map(params![default_engine], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })
            .map_err(db_error)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(db_error)?;
        Ok(rows
            .into_iter()
            .filter_map(|(engine, status, count)| {
                Some(crate::backend::Depth {
                    engine,
                    status: Status::parse(&status)?,
                    count: count as u64,
                })
            })
            .collect())
    }

    /// Every recorded status change of `id`, oldest first, as (from, to).
    pub fn transitions(&self, id: &str) -> Result<Vec<(Option<String>, String)>> {
        let inner = self.lock();
        let mut stmt = inner
            .conn
            .prepare(
                "SELECT from_status, to_status FROM transitions WHERE task_id = ?1 ORDER BY rowid",
            )
            .map_err(db_error)?;
        let rows = stmt
            .query_map(params![id], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(db_error)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(db_error)?;
        Ok(rows)
    }

    /// Number of tasks in `status` (all owners), for health and tests.
    pub fn count(&self, status: Status) -> Result<usize> {
        let n: i64 = self
            .lock()
            .conn
            .query_row(
                "SELECT COUNT(*) FROM tasks WHERE status = ?1",
                params![status.as_str()],
                |r| r.get(0),
            )
            .map_err(db_error)?;
        Ok(n as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn submit(store: &Store, id: &str, owner: &str) -> TaskRow {
        let req = serde_json::json!({"prompt": "wave"});
        match store
            .submit(
                NewTask {
                    id,
                    owner,
                    engine: "rig",
                    idempotency_key: None,
                    request: &req,
                },
                100,
            )
            .unwrap()
        {
            Submitted::Created(t) => t,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_state_machine_allows_only_its_moves() {
        use Status::*;
        assert!(Pending.can_move_to(Running));
        assert!(Running.can_move_to(Pending));
        for terminal in [Succeeded, Failed, Cancelled] {
            for to in Status::ALL {
                assert!(!terminal.can_move_to(to), "{terminal:?} → {to:?}");
            }
        }
        assert!(!Pending.can_move_to(Succeeded));
        assert_eq!(Status::parse("succeeded"), Some(Succeeded));
        assert_eq!(Status::parse("DONE"), None);
    }

    #[test]
    fn a_task_finishes_exactly_once() {
        let s = Store::in_memory().unwrap();
        submit(&s, "t1", "a");
        let claimed = s.claim_next().unwrap().unwrap();
        assert_eq!((claimed.status, claimed.attempts), (Status::Running, 1));
        assert!(s
            .transition("t1", Status::Running, Status::Succeeded, Finish::default())
            .unwrap());
        // A racing cancel or a second finish finds it already done.
        assert!(!s
            .transition("t1", Status::Running, Status::Failed, Finish::default())
            .unwrap());
        assert!(matches!(
            s.cancel("a", "t1").unwrap(),
            Cancel::AlreadyFinished(_)
        ));
        let log = s.transitions("t1").unwrap();
        assert_eq!(
            log,
            vec![
                (None, "PENDING".into()),
                (Some("PENDING".into()), "RUNNING".into()),
                (Some("RUNNING".into()), "SUCCEEDED".into())
            ]
        );
        assert!(s
            .transition("t1", Status::Succeeded, Status::Running, Finish::default())
            .is_err());
    }

    #[test]
    fn claiming_is_round_robin_across_owners() {
        let s = Store::in_memory().unwrap();
        for i in 0..4 {
            submit(&s, &format!("a{i}"), "alice");
        }
        submit(&s, "b0", "bob");
        submit(&s, "b1", "bob");
        submit(&s, "c0", "carol");
        let order: Vec<String> = std::iter::from_fn(|| s.claim_next().unwrap())
            .map(|t| t.id)
            .collect();
        assert_eq!(order, ["a0", "b0", "c0", "a1", "b1", "a2", "a3"]);
    }

    #[test]
    fn interrupted_work_is_requeued_and_cancel_works_from_both_states() {
        let s = Store::in_memory().unwrap();
        submit(&s, "t1", "a");
        submit(&s, "t2", "a");
        s.claim_next().unwrap();
        assert_eq!(s.requeue_interrupted(3).unwrap(), (1, 0));
        assert_eq!(s.count(Status::Pending).unwrap(), 2);
        let t1 = s.claim_next().unwrap().unwrap();
        assert_eq!((t1.id.as_str(), t1.attempts), ("t1", 2));
        assert!(matches!(s.cancel("b", "t1").unwrap(), Cancel::NotFound));
        assert!(matches!(
            s.cancel("a", "t1").unwrap(),
            Cancel::Cancelled {
                was_running: true,
                ..
            }
        ));
        assert!(matches!(
            s.cancel("a", "t2").unwrap(),
            Cancel::Cancelled {
                was_running: false,
                ..
            }
        ));
        assert!(s.claim_next().unwrap().is_none());
    }

    #[test]
    fn a_task_that_keeps_taking_the_process_down_fails_after_its_attempts() {
        let s = Store::in_memory().unwrap();
        submit(&s, "t1", "a");
        s.claim_next().unwrap().unwrap();
        assert_eq!(s.requeue_interrupted(2).unwrap(), (1, 0));
        // Started a second time and interrupted again: both attempts used.
        s.claim_next().unwrap().unwrap();
        assert_eq!(s.requeue_interrupted(2).unwrap(), (0, 1));
        let t = s.task(None, "t1").unwrap().unwrap();
        assert_eq!((t.status, t.attempts), (Status::Failed, 2));
        assert_eq!(t.error.unwrap()["code"], "interrupted");
    }

    #[test]
    fn depth_counts_unfinished_tasks_per_engine() {
        let s = Store::in_memory().unwrap();
        submit(&s, "t1", "a");
        submit(&s, "t2", "a");
        let req = serde_json::json!({"engine": "wan"});
        s.submit(
            NewTask {
                id: "t3",
                owner: "a",
                engine: "wan",
                idempotency_key: None,
                request: &req,
            },
            10,
        )
        .unwrap();
        s.claim_next().unwrap();
        let mut depth = s.depth("rig").unwrap();
        depth.sort_by_key(|d| (d.engine.clone(), d.status.as_str()));
        let flat: Vec<(&str, Status, u64)> = depth
            .iter()
            .map(|d| (d.engine.as_str(), d.status, d.count))
            .collect();
        assert_eq!(
            flat,
            [
                ("rig", Status::Pending, 1),
                ("rig", Status::Running, 1),
                ("wan", Status::Pending, 1)
            ]
        );
    }

    #[test]
    fn idempotency_keys_and_quota_are_per_owner() {
        let s = Store::in_memory().unwrap();
        let req = serde_json::json!({});
        let new = |id: &'static str, owner: &'static str| NewTask {
            id,
            owner,
            engine: "rig",
            idempotency_key: Some("k1"),
            request: &req,
        };
        assert!(matches!(
            s.submit(new("t1", "a"), 2).unwrap(),
            Submitted::Created(_)
        ));
        match s.submit(new("t2", "a"), 2).unwrap() {
            Submitted::Existing(t) => assert_eq!(t.id, "t1"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            s.submit(new("t3", "b"), 2).unwrap(),
            Submitted::Created(_)
        ));
        submit(&s, "t4", "a");
        let full = NewTask {
            id: "t5",
            owner: "a",
            engine: "rig",
            idempotency_key: None,
            request: &req,
        };
        assert!(matches!(
            s.submit(full, 2).unwrap(),
            Submitted::QuotaFull(2)
        ));
    }

    #[test]
    fn listing_pages_newest_first_and_filters() {
        let s = Store::in_memory().unwrap();
        for i in 0..5 {
            submit(&s, &format!("t{i}"), "a");
        }
        submit(&s, "other", "b");
        let (page, next) = s.list("a", None, None, 2).unwrap();
        assert_eq!(
            page.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
            ["t4", "t3"]
        );
        let (page, next) = s.list("a", None, next, 2).unwrap();
        assert_eq!(
            page.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
            ["t2", "t1"]
        );
        let (page, next) = s.list("a", None, next, 2).unwrap();
        assert_eq!((page.len(), next), (1, None));
        s.cancel("a", "t2").unwrap();
        let (page, _) = s.list("a", Some(Status::Cancelled), None, 10).unwrap();
        assert_eq!(page.len(), 1);
    }
}
