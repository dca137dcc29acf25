//! The API side of the shared queue: uploads, submits, reads, listing, cancel.

use super::{task_from_row, PgQueue, PgResultExt, CANCEL, CHANGE, TASK_COLUMNS};
use crate::backend::{BackendResult, Depth};
use crate::store::{Cancel, NewTask, Status, Submitted, TaskRow, UploadRow};

impl PgQueue {
    pub(super) async fn insert_upload_row(&self, u: &UploadRow) -> BackendResult<()> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "INSERT INTO uploads (id, owner, width, height, pixel_art, bytes)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .await
            .db()?;
        client
            .execute(
                &stmt,
                &[
                    &u.id,
                    &u.owner,
                    &(u.width as i32),
                    &(u.height as i32),
                    &u.pixel_art,
                    &(u.bytes as i64),
                ],
            )
            .await
            .db()?;
        Ok(())
    }

    pub(super) async fn upload_row(
        &self,
        owner: &str,
        id: &str,
    ) -> BackendResult<Option<UploadRow>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT id, owner, width, height, pixel_art, bytes FROM uploads
                 WHERE id = $1 AND owner = $2",
            )
            .await
            .db()?;
        let row = client.query_opt(&stmt, &[&id, &owner]).await.db()?;
        Ok(row.map(|r| UploadRow {
            id: r.get(0),
            owner: r.get(1),
            width: r.get::<_, i32>(2) as u32,
            height: r.get::<_, i32>(3) as u32,
            pixel_art: r.get(4),
            bytes: r.get::<_, i64>(5) as u64,
        }))
    }

    /// The idempotency check, the quota check and the insert run in one call of
    /// `kinema_submit` (migration 1) under a per-owner advisory lock, so two API servers
    /// taking the same owner's submits at once agree on both (the unique index on the key
    /// is the backstop). The lock is shared while the owner is far from the quota, so one
    /// token's parallel submits do not queue behind each other's commits; near it, a
    /// second call takes it exclusively and counts exactly.
    pub(super) async fn submit_task(
        &self,
        t: NewTask<'_>,
        quota: usize,
    ) -> BackendResult<Submitted> {
        let client = self.client().await?;
        let submit = client
            .prepare_cached(
                "SELECT o_outcome, o_task, o_unfinished FROM kinema_submit($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .await
            .db()?;
        let mut exclusive = false;
        let row = loop {
            let row = client
                .query_one(
                    &submit,
                    &[
                        &t.id,
                        &t.owner,
                        &t.idempotency_key,
                        &t.engine,
                        t.request,
                        &(self.max_attempts as i32),
                        &(quota as i64),
                        &exclusive,
                    ],
                )
                .await
                .db()?;
            if row.get::<_, String>(0) == "near_quota" && !exclusive {
                exclusive = true;
                continue;
            }
            break row;
        };
        let outcome: String = row.get(0);
        let task: Option<String> = row.get(1);
        if outcome == "quota_full" {
            let unfinished: Option<i64> = row.get(2);
            return Ok(Submitted::QuotaFull(unfinished.unwrap_or(0) as usize));
        }
        let id = task.ok_or_else(|| {
            kinema_core::Error::internal(format!(
                "kinema_submit answered `{outcome}` without a task"
            ))
        })?;
        let read = client
            .prepare_cached(&format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1"))
            .await
            .db()?;
        let found = task_from_row(&client.query_one(&read, &[&id]).await.db()?)?;
        Ok(if outcome == "created" {
            Submitted::Created(found)
        } else {
            Submitted::Existing(found)
        })
    }

    pub(super) async fn task_row(
        &self,
        owner: Option<&str>,
        id: &str,
    ) -> BackendResult<Option<TaskRow>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1 AND ($2::text IS NULL OR owner = $2)"
            ))
            .await
            .db()?;
        client
            .query_opt(&stmt, &[&id, &owner])
            .await
            .db()?
            .map(|r| task_from_row(&r))
            .transpose()
    }

    pub(super) async fn list_tasks(
        &self,
        owner: &str,
        status: Option<Status>,
        before: Option<i64>,
        limit: usize,
    ) -> BackendResult<(Vec<TaskRow>, Option<i64>)> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "SELECT {TASK_COLUMNS} FROM tasks WHERE owner = $1
                   AND ($2::text IS NULL OR status = $2)
                   AND ($3::bigint IS NULL OR seq < $3)
                 ORDER BY seq DESC LIMIT $4"
            ))
            .await
            .db()?;
        let rows = client
            .query(
                &stmt,
                &[
                    &owner,
                    &status.map(Status::as_str),
                    &before,
                    &(limit as i64 + 1),
                ],
            )
            .await
            .db()?;
        let mut tasks = rows
            .iter()
            .map(task_from_row)
            .collect::<BackendResult<Vec<_>>>()?;
        let next = if tasks.len() > limit {
            tasks.truncate(limit);
            tasks.last().map(|t| t.seq)
        } else {
            None
        };
        Ok((tasks, next))
    }

    /// Locks the row, ends it, logs it and, when it was running, NOTIFYs the worker that
    /// holds it (every worker listens; the holder stops at its next progress step).
    pub(super) async fn cancel_task(&self, owner: &str, id: &str) -> BackendResult<Cancel> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.db()?;
        let find = tx
            .prepare_cached(&format!(
                "SELECT {TASK_COLUMNS}, worker FROM tasks WHERE id = $1 AND owner = $2 FOR UPDATE"
            ))
            .await
            .db()?;
        let Some(row) = tx.query_opt(&find, &[&id, &owner]).await.db()? else {
            return Ok(Cancel::NotFound);
        };
        let task = task_from_row(&row)?;
        if task.status.is_terminal() {
            return Ok(Cancel::AlreadyFinished(task));
        }
        let worker: Option<String> = row.get(14);
        let was_running = task.status == Status::Running;
        let update = tx
            .prepare_cached(&format!(
                "WITH t AS (
                   UPDATE tasks SET status = 'CANCELLED', finished_at = kinema_now_ms(),
                     lease_until = NULL
                   WHERE id = $1 RETURNING *
                 ), logged AS (
                   INSERT INTO transitions (task_id, from_status, to_status, attempt, worker, reason)
                   SELECT id, $2, 'CANCELLED', attempts, $3, 'cancelled' FROM t
                 )
                 SELECT {TASK_COLUMNS} FROM t, LATERAL (SELECT pg_notify('{CHANGE}', t.id)) n"
            ))
            .await
            .db()?;
        let row = tx
            .query_one(&update, &[&id, &task.status.as_str(), &worker])
            .await
            .db()?;
        let task = task_from_row(&row)?;
        if was_running {
            let notify = tx
                .prepare_cached(&format!("SELECT pg_notify('{CANCEL}', $1)"))
                .await
                .db()?;
            tx.execute(&notify, &[&id]).await.db()?;
        }
        tx.commit().await.db()?;
        Ok(Cancel::Cancelled { task, was_running })
    }

    pub(super) async fn transition_log(
        &self,
        id: &str,
    ) -> BackendResult<Vec<(Option<String>, String)>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT from_status, to_status FROM transitions WHERE task_id = $1 ORDER BY seq",
            )
            .await
            .db()?;
        let rows = client.query(&stmt, &[&id]).await.db()?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    pub(super) async fn count_tasks(&self, status: Status) -> BackendResult<usize> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("SELECT COUNT(*) FROM tasks WHERE status = $1")
            .await
            .db()?;
        let n: i64 = client
            .query_one(&stmt, &[&status.as_str()])
            .await
            .db()?
            .get(0);
        Ok(n as usize)
    }

    pub(super) async fn queue_depth(&self) -> BackendResult<Vec<Depth>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT engine, status, COUNT(*) FROM tasks
                 WHERE status IN ('PENDING', 'RUNNING') GROUP BY engine, status",
            )
            .await
            .db()?;
        let rows = client.query(&stmt, &[]).await.db()?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                Some(Depth {
                    engine: r.get(0),
                    status: Status::parse(r.get(1))?,
                    count: r.get::<_, i64>(2) as u64,
                })
            })
            .collect())
    }
}
