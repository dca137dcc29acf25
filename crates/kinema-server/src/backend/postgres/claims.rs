//! The worker side of the shared queue: claims under a lease, heartbeats, endings,
//! retries, and putting back the tasks of workers that stopped renewing.
//!
//! Every statement that changes a held task matches it on `(id, attempts, worker,
//! status = 'RUNNING')`: a worker whose lease expired and whose task was claimed again
//! (a higher attempt) changes nothing, whatever it still tries to write.

use std::time::Duration;

use super::{task_from_row, PgQueue, PgResultExt, CHANGE, TASK_COLUMNS, WORK};
use crate::backend::{BackendResult, ClaimRequest, Lease, Reaped, Retried, WorkerInfo};
use crate::errors::ErrorDetail;
use crate::store::{Finish, Status, TaskRow};

/// The SET clauses shared by "back to PENDING or, out of attempts, FAILED with `detail`"
/// (retries and expired leases). `{detail}` is the SQL expression of the error.
fn requeue_or_fail(detail: &str) -> String {
    let out = "attempts - released >= max_attempts";
    format!(
        "status = CASE WHEN {out} THEN 'FAILED' ELSE 'PENDING' END,
         last_error = {detail},
         error = CASE WHEN {out} THEN jsonb_set({detail}, '{{message}}',
             to_jsonb('gave up after ' || attempts || ' attempts; the last one: ' || ({detail} ->> 'message')))
           ELSE error END,
         finished_at = CASE WHEN {out} THEN kinema_now_ms() END,
         started_at = CASE WHEN {out} THEN started_at END,
         progress = CASE WHEN {out} THEN progress ELSE 0 END,
         stage = CASE WHEN {out} THEN stage END,
         lease_until = NULL"
    )
}

impl PgQueue {
    /// One statement: pick the oldest claimable task of the owner served longest ago
    /// (skipping rows other workers are claiming), mark it RUNNING under a lease, advance
    /// that owner's turn, log the transition, and announce the change.
    pub(super) async fn claim_next(&self, r: &ClaimRequest<'_>) -> BackendResult<Option<TaskRow>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "WITH pick AS (
                   SELECT t.seq FROM tasks t LEFT JOIN owner_turns o ON o.owner = t.owner
                   WHERE t.status = 'PENDING' AND t.available_at <= now()
                     AND ($1::text[] IS NULL OR t.engine = ANY($1::text[]))
                   ORDER BY COALESCE(o.served, 0), t.seq
                   LIMIT 1
                   FOR UPDATE OF t SKIP LOCKED
                 ), claimed AS (
                   UPDATE tasks t SET status = 'RUNNING', started_at = kinema_now_ms(),
                     attempts = t.attempts + 1, progress = 0, stage = 'queued', worker = $2,
                     lease_until = now() + make_interval(secs => $3)
                   FROM pick WHERE t.seq = pick.seq
                   RETURNING t.*
                 ), turn AS (
                   INSERT INTO owner_turns (owner, served)
                   SELECT owner, nextval('owner_turn') FROM claimed
                   ON CONFLICT (owner) DO UPDATE SET served = EXCLUDED.served
                 ), logged AS (
                   INSERT INTO transitions (task_id, from_status, to_status, attempt, worker)
                   SELECT id, 'PENDING', 'RUNNING', attempts, $2 FROM claimed
                 )
                 SELECT {TASK_COLUMNS} FROM claimed,
                   LATERAL (SELECT pg_notify('{CHANGE}', claimed.id)) n"
            ))
            .await
            .db()?;
        let engines: Option<Vec<String>> = r.engines.map(<[String]>::to_vec);
        let row = client
            .query_opt(&stmt, &[&engines, &r.worker, &r.lease.as_secs_f64()])
            .await
            .db()?;
        row.map(|r| task_from_row(&r)).transpose()
    }

    pub(super) async fn record_progress(
        &self,
        lease: &Lease,
        fraction: f64,
        stage: &str,
    ) -> BackendResult<()> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "WITH u AS (
                   UPDATE tasks SET progress = $4, stage = $5
                   WHERE id = $1 AND attempts = $2 AND worker = $3 AND status = 'RUNNING'
                   RETURNING id
                 )
                 SELECT pg_notify('{CHANGE}', u.id) FROM u"
            ))
            .await
            .db()?;
        client
            .execute(
                &stmt,
                &[
                    &lease.task,
                    &(lease.attempt as i32),
                    &lease.worker,
                    &fraction.clamp(0.0, 1.0),
                    &stage,
                ],
            )
            .await
            .db()?;
        Ok(())
    }

    /// Heartbeat for every task this process runs, in one statement.
    pub(super) async fn renew_leases(
        &self,
        leases: &[Lease],
        extend: Option<Duration>,
    ) -> BackendResult<Vec<Lease>> {
        if leases.is_empty() {
            return Ok(Vec::new());
        }
        let client = self.client().await?;
        let held_sql = match extend {
            Some(_) => {
                "WITH m AS (SELECT * FROM unnest($1::text[], $2::int4[], $3::text[]) AS m(id, attempt, worker))
                 UPDATE tasks t SET lease_until = now() + make_interval(secs => $4::float8)
                 FROM m WHERE t.id = m.id AND t.attempts = m.attempt AND t.worker = m.worker
                   AND t.status = 'RUNNING'
                 RETURNING t.id, t.attempts"
            }
            None => {
                "SELECT t.id, t.attempts FROM tasks t
                 JOIN unnest($1::text[], $2::int4[], $3::text[]) AS m(id, attempt, worker)
                   ON t.id = m.id AND t.attempts = m.attempt AND t.worker = m.worker
                 WHERE t.status = 'RUNNING' AND $4::float8 IS NULL"
            }
        };
        let stmt = client.prepare_cached(held_sql).await.db()?;
        let ids: Vec<&str> = leases.iter().map(|l| l.task.as_str()).collect();
        let attempts: Vec<i32> = leases.iter().map(|l| l.attempt as i32).collect();
        let workers: Vec<&str> = leases.iter().map(|l| l.worker.as_str()).collect();
        let secs = extend.map(|d| d.as_secs_f64());
        let rows = client
            .query(&stmt, &[&ids, &attempts, &workers, &secs])
            .await
            .db()?;
        let held: Vec<(String, i32)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        Ok(leases
            .iter()
            .filter(|l| {
                !held
                    .iter()
                    .any(|(id, a)| *id == l.task && *a == l.attempt as i32)
            })
            .cloned()
            .collect())
    }

    pub(super) async fn finish_task(
        &self,
        lease: &Lease,
        to: Status,
        f: Finish,
    ) -> BackendResult<bool> {
        if !Status::Running.can_move_to(to) || to == Status::Pending {
            return Err(kinema_core::Error::internal(format!(
                "task {}: RUNNING → {} is not an ending",
                lease.task,
                to.as_str()
            ))
            .into());
        }
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "WITH u AS (
                   UPDATE tasks SET status = $4::text, finished_at = kinema_now_ms(),
                     outputs = COALESCE($5::jsonb, outputs), error = $6::jsonb, render_ms = $7::float8,
                     progress = CASE WHEN $4::text = 'SUCCEEDED' THEN 1.0 ELSE progress END,
                     stage = CASE WHEN $4::text = 'SUCCEEDED' THEN 'done' ELSE stage END,
                     lease_until = NULL
                   WHERE id = $1 AND attempts = $2 AND worker = $3 AND status = 'RUNNING'
                   RETURNING id, attempts, worker
                 ), logged AS (
                   INSERT INTO transitions (task_id, from_status, to_status, attempt, worker)
                   SELECT id, 'RUNNING', $4::text, attempts, worker FROM u
                 )
                 SELECT u.id FROM u, LATERAL (SELECT pg_notify('{CHANGE}', u.id)) n"
            ))
            .await
            .db()?;
        let rows = client
            .query(
                &stmt,
                &[
                    &lease.task,
                    &(lease.attempt as i32),
                    &lease.worker,
                    &to.as_str(),
                    &f.outputs,
                    &f.error,
                    &f.render_ms,
                ],
            )
            .await
            .db()?;
        Ok(rows.len() == 1)
    }

    pub(super) async fn retry_task(
        &self,
        lease: &Lease,
        error: &ErrorDetail,
        delay: Duration,
    ) -> BackendResult<Retried> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "WITH u AS (
                   UPDATE tasks SET {},
                     available_at = now() + make_interval(secs => $5::float8)
                   WHERE id = $1 AND attempts = $2 AND worker = $3 AND status = 'RUNNING'
                   RETURNING id, status, attempts, worker
                 ), logged AS (
                   INSERT INTO transitions (task_id, from_status, to_status, attempt, worker, reason)
                   SELECT id, 'RUNNING', status, attempts, worker, 'retry' FROM u
                 )
                 SELECT u.status FROM u,
                   LATERAL (SELECT pg_notify('{CHANGE}', u.id), pg_notify('{WORK}', '')) n",
                requeue_or_fail("$4::jsonb")
            ))
            .await
            .db()?;
        let detail = serde_json::to_value(error).unwrap_or_default();
        let rows = client
            .query(
                &stmt,
                &[
                    &lease.task,
                    &(lease.attempt as i32),
                    &lease.worker,
                    &detail,
                    &delay.as_secs_f64(),
                ],
            )
            .await
            .db()?;
        Ok(match rows.first().map(|r| r.get::<_, String>(0)) {
            None => Retried::NotHeld,
            Some(s) if s == Status::Failed.as_str() => Retried::Failed,
            Some(_) => Retried::Requeued,
        })
    }

    pub(super) async fn release_task(&self, lease: &Lease) -> BackendResult<bool> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "WITH u AS (
                   UPDATE tasks SET status = 'PENDING', released = released + 1, started_at = NULL,
                     progress = 0, stage = NULL, lease_until = NULL, available_at = now()
                   WHERE id = $1 AND attempts = $2 AND worker = $3 AND status = 'RUNNING'
                   RETURNING id, attempts, worker
                 ), logged AS (
                   INSERT INTO transitions (task_id, from_status, to_status, attempt, worker, reason)
                   SELECT id, 'RUNNING', 'PENDING', attempts, worker, 'released' FROM u
                 )
                 SELECT u.id FROM u,
                   LATERAL (SELECT pg_notify('{CHANGE}', u.id), pg_notify('{WORK}', '')) n"
            ))
            .await
            .db()?;
        let rows = client
            .query(
                &stmt,
                &[&lease.task, &(lease.attempt as i32), &lease.worker],
            )
            .await
            .db()?;
        Ok(rows.len() == 1)
    }

    /// Tasks whose lease lapsed go back to PENDING (or FAILED, out of attempts) with an
    /// error naming the worker that went silent. Safe to run from every worker at once:
    /// rows another reaper is handling are skipped.
    pub(super) async fn reap(&self) -> BackendResult<Reaped> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "WITH expired AS (
                   SELECT seq, worker AS lost_worker, jsonb_build_object(
                     'code', 'worker_lost',
                     'message', 'worker ' || COALESCE(worker, '?')
                       || ' stopped renewing its lease during attempt ' || attempts
                       || ' (it crashed, was killed, or lost the database)',
                     'hint', 'the task is retried on another worker up to its attempt limit; that worker''s log may say why it stopped'
                   ) AS detail
                   FROM tasks WHERE status = 'RUNNING' AND lease_until < now()
                   FOR UPDATE SKIP LOCKED
                 ), u AS (
                   UPDATE tasks t SET {}, available_at = now()
                   FROM expired WHERE t.seq = expired.seq
                   RETURNING t.id, t.status, t.attempts, expired.lost_worker
                 ), logged AS (
                   INSERT INTO transitions (task_id, from_status, to_status, attempt, worker, reason)
                   SELECT id, 'RUNNING', status, attempts, lost_worker, 'lease_expired' FROM u
                 )
                 SELECT u.id, u.status FROM u,
                   LATERAL (SELECT pg_notify('{CHANGE}', u.id), pg_notify('{WORK}', '')) n",
                requeue_or_fail("expired.detail")
            ))
            .await
            .db()?;
        let rows = client.query(&stmt, &[]).await.db()?;
        let mut reaped = Reaped::default();
        for r in rows {
            let (id, status): (String, String) = (r.get(0), r.get(1));
            if status == Status::Failed.as_str() {
                reaped.failed.push(id);
            } else {
                reaped.requeued.push(id);
            }
        }
        Ok(reaped)
    }

    pub(super) async fn record_worker(&self, w: &WorkerInfo) -> BackendResult<()> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "INSERT INTO workers (id, engines, slots) VALUES ($1, $2, $3)
                 ON CONFLICT (id) DO UPDATE
                   SET engines = EXCLUDED.engines, slots = EXCLUDED.slots, seen_at = now()",
            )
            .await
            .db()?;
        client
            .execute(&stmt, &[&w.id, &w.engines, &(w.slots as i32)])
            .await
            .db()?;
        Ok(())
    }
}
