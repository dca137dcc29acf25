//! The shared queue against a real PostgreSQL (`tools/cluster/dev-up.sh`): claims,
//! leases, attempts, retries, fairness, idempotency and quotas across two "servers"
//! (two independent connections pools), notifications, migrations. Each test uses a
//! database of its own. Skipped, loudly, without the services unless `CI` is set.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use kinema_server::backend::postgres::{migrate, PgQueue};
use kinema_server::backend::{ClaimRequest, Lease, Retried, TaskStore};
use kinema_server::errors::ErrorDetail;
use kinema_server::store::{Cancel, Finish, NewTask, Status, Submitted, TaskRow};
use kinema_server::testing::DevServices;
use serde_json::json;

async fn fresh(test: &str, max_attempts: u32) -> Option<(DevServices, String, PgQueue)> {
    let services = DevServices::for_test(test)?;
    let url = services.fresh_database().await;
    let queue = PgQueue::connect(&url, max_attempts)
        .await
        .expect("connects and migrates");
    Some((services, url, queue))
}

async fn submit(q: &dyn TaskStore, owner: &str, engine: &str) -> TaskRow {
    let id = kinema_server::ids::new_id(kinema_server::ids::TASK).unwrap();
    let request = json!({"image": "upl_x", "prompt": "wave", "engine": engine});
    match q
        .submit(
            NewTask {
                id: &id,
                owner,
                engine,
                idempotency_key: None,
                request: &request,
            },
            1000,
        )
        .await
        .unwrap()
    {
        Submitted::Created(t) => t,
        other => panic!("{other:?}"),
    }
}

fn claim_as<'a>(worker: &'a str, lease: Duration) -> ClaimRequest<'a> {
    ClaimRequest {
        worker,
        engines: None,
        lease,
    }
}

fn lease_of(t: &TaskRow, worker: &str) -> Lease {
    Lease {
        task: t.id.clone(),
        attempt: t.attempts,
        worker: worker.into(),
    }
}

fn detail(message: &str) -> ErrorDetail {
    ErrorDetail {
        code: "store_unavailable".into(),
        message: message.into(),
        hint: "wait".into(),
    }
}

#[tokio::test]
async fn migrations_apply_once_and_a_newer_schema_is_refused() {
    let Some((_s, url, q)) = fresh("migrations", 3).await else {
        return;
    };
    drop(q);
    // A second process finds the schema current.
    PgQueue::connect(&url, 3).await.expect("reconnects");
    let client = sql(&url).await;
    let n: i64 = client
        .query_one("SELECT COUNT(*) FROM kinema_schema", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, i64::from(migrate::latest()));
    // A database of the first release (schema 1) gains the later migrations on connect.
    client
        .batch_execute("DROP TABLE provider_tasks; DELETE FROM kinema_schema WHERE version > 1")
        .await
        .unwrap();
    PgQueue::connect(&url, 3)
        .await
        .expect("migrates 1 -> latest");
    let versions: Vec<i32> = client
        .query("SELECT version FROM kinema_schema ORDER BY version", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(versions, (1..=migrate::latest()).collect::<Vec<_>>());
    client
        .query_one("SELECT COUNT(*) FROM provider_tasks", &[])
        .await
        .expect("provider_tasks exists again");
    client
        .execute(
            "INSERT INTO kinema_schema (version, name, applied_by) VALUES (99, 'future', '9.9.9')",
            &[],
        )
        .await
        .unwrap();
    let err = PgQueue::connect(&url, 3).await.err().expect("refused");
    let text = err.to_string();
    assert!(
        text.contains("version 99") && text.contains("9.9.9"),
        "{text}"
    );
    assert!(!err.unavailable);
}

#[tokio::test]
async fn concurrent_claims_from_two_servers_take_each_task_once() {
    let Some((_s, url, a)) = fresh("concurrent_claims", 3).await else {
        return;
    };
    let b = Arc::new(PgQueue::connect(&url, 3).await.unwrap());
    let a = Arc::new(a);
    for i in 0..60 {
        submit(a.as_ref(), &format!("owner{}", i % 3), "rig").await;
    }
    let mut claimers = Vec::new();
    for n in 0..8 {
        let q: Arc<dyn TaskStore> = if n % 2 == 0 { a.clone() } else { b.clone() };
        claimers.push(tokio::spawn(async move {
            let worker = format!("w{n}");
            let mut got = Vec::new();
            while let Some(t) = q
                .claim(&claim_as(&worker, Duration::from_secs(30)))
                .await
                .unwrap()
            {
                assert_eq!((t.status, t.attempts), (Status::Running, 1));
                got.push(t.id);
            }
            got
        }));
    }
    let mut all = Vec::new();
    for c in claimers {
        all.extend(c.await.unwrap());
    }
    let unique: HashSet<&String> = all.iter().collect();
    assert_eq!((all.len(), unique.len()), (60, 60));
    assert_eq!(a.count(Status::Running).await.unwrap(), 60);
}

#[tokio::test]
async fn an_expired_lease_puts_the_task_back_until_attempts_run_out() {
    let Some((_s, _url, q)) = fresh("lease_expiry", 2).await else {
        return;
    };
    let t = submit(&q, "a", "rig").await;
    let short = Duration::from_millis(300);
    let first = q.claim(&claim_as("w1", short)).await.unwrap().unwrap();
    assert!(
        q.reap_expired().await.unwrap().requeued.is_empty(),
        "not expired yet"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let reaped = q.reap_expired().await.unwrap();
    assert_eq!(reaped.requeued, std::slice::from_ref(&t.id));
    let second = q.claim(&claim_as("w2", short)).await.unwrap().unwrap();
    assert_eq!(second.attempts, 2);
    // The first worker comes back from the dead: nothing it does applies.
    let stale = lease_of(&first, "w1");
    assert!(!q
        .finish(&stale, Status::Succeeded, Finish::default())
        .await
        .unwrap());
    assert_eq!(
        q.renew(std::slice::from_ref(&stale), Some(short))
            .await
            .unwrap(),
        [stale]
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let reaped = q.reap_expired().await.unwrap();
    assert_eq!(reaped.failed, std::slice::from_ref(&t.id));
    let ended = q.task(None, &t.id).await.unwrap().unwrap();
    assert_eq!(ended.status, Status::Failed);
    let error = ended.error.unwrap();
    assert_eq!(error["code"], "worker_lost");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("gave up after 2 attempts") && message.contains("w2"),
        "{message}"
    );
    let log = q.transitions(&t.id).await.unwrap();
    let to: Vec<&str> = log.iter().map(|(_, to)| to.as_str()).collect();
    assert_eq!(to, ["PENDING", "RUNNING", "PENDING", "RUNNING", "FAILED"]);
}

#[tokio::test]
async fn heartbeats_keep_a_lease_and_report_a_cancel() {
    let Some((_s, _url, q)) = fresh("heartbeats", 3).await else {
        return;
    };
    let t = submit(&q, "a", "rig").await;
    let lease_len = Duration::from_millis(600);
    let claimed = q.claim(&claim_as("w1", lease_len)).await.unwrap().unwrap();
    let lease = lease_of(&claimed, "w1");
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(q
            .renew(std::slice::from_ref(&lease), Some(lease_len))
            .await
            .unwrap()
            .is_empty());
        assert!(q.reap_expired().await.unwrap().requeued.is_empty());
    }
    q.progress(&lease, 0.5, "render").await.unwrap();
    assert_eq!(q.task(None, &t.id).await.unwrap().unwrap().progress, 0.5);
    assert!(matches!(
        q.cancel("a", &t.id).await.unwrap(),
        Cancel::Cancelled {
            was_running: true,
            ..
        }
    ));
    assert_eq!(
        q.renew(std::slice::from_ref(&lease), None).await.unwrap(),
        std::slice::from_ref(&lease)
    );
    assert!(!q
        .finish(&lease, Status::Succeeded, Finish::default())
        .await
        .unwrap());
    let ended = q.task(None, &t.id).await.unwrap().unwrap();
    assert_eq!(ended.status, Status::Cancelled);
}

#[tokio::test]
async fn transient_failures_back_off_then_fail_with_the_last_error() {
    let Some((_s, _url, q)) = fresh("retries", 2).await else {
        return;
    };
    let t = submit(&q, "a", "rig").await;
    let lease = Duration::from_secs(30);
    let first = q.claim(&claim_as("w1", lease)).await.unwrap().unwrap();
    let retried = q
        .retry(
            &lease_of(&first, "w1"),
            &detail("store down"),
            Duration::from_millis(400),
        )
        .await
        .unwrap();
    assert_eq!(retried, Retried::Requeued);
    assert!(
        q.claim(&claim_as("w1", lease)).await.unwrap().is_none(),
        "still backing off"
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    let second = q.claim(&claim_as("w2", lease)).await.unwrap().unwrap();
    assert_eq!(second.attempts, 2);
    let retried = q
        .retry(
            &lease_of(&second, "w2"),
            &detail("store down again"),
            Duration::ZERO,
        )
        .await
        .unwrap();
    assert_eq!(retried, Retried::Failed);
    let ended = q.task(None, &t.id).await.unwrap().unwrap();
    assert_eq!(ended.status, Status::Failed);
    let message = ended.error.unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        message.contains("gave up after 2 attempts") && message.contains("store down again"),
        "{message}"
    );
    assert_eq!(
        q.retry(&lease_of(&second, "w2"), &detail("x"), Duration::ZERO)
            .await
            .unwrap(),
        Retried::NotHeld
    );
}

#[tokio::test]
async fn a_task_handed_back_at_shutdown_keeps_its_attempts() {
    let Some((_s, _url, q)) = fresh("release", 1).await else {
        return;
    };
    let t = submit(&q, "a", "rig").await;
    let lease = Duration::from_secs(30);
    let first = q.claim(&claim_as("w1", lease)).await.unwrap().unwrap();
    assert!(q.release(&lease_of(&first, "w1")).await.unwrap());
    let second = q.claim(&claim_as("w2", lease)).await.unwrap().unwrap();
    assert_eq!(second.attempts, 2, "a new attempt number for the new claim");
    // One attempt allowed, one used (the released one does not count): a retry fails it.
    assert_eq!(
        q.retry(&lease_of(&second, "w2"), &detail("x"), Duration::ZERO)
            .await
            .unwrap(),
        Retried::Failed
    );
    assert_eq!(
        q.task(None, &t.id).await.unwrap().unwrap().status,
        Status::Failed
    );
}

#[tokio::test]
async fn claims_rotate_between_owners_and_respect_engines() {
    let Some((_s, _url, q)) = fresh("fairness", 3).await else {
        return;
    };
    let mut names = std::collections::HashMap::new();
    for (owner, n) in [("alice", 4), ("bob", 2), ("carol", 1)] {
        for i in 0..n {
            let t = submit(&q, owner, "rig").await;
            names.insert(t.id, format!("{}{i}", &owner[..1]));
        }
    }
    let wan = submit(&q, "dave", "wan").await;
    let rig_only = vec!["rig".to_string()];
    let request = ClaimRequest {
        worker: "w1",
        engines: Some(&rig_only),
        lease: Duration::from_secs(30),
    };
    let mut order = Vec::new();
    while let Some(t) = q.claim(&request).await.unwrap() {
        order.push(names[&t.id].clone());
    }
    assert_eq!(order, ["a0", "b0", "c0", "a1", "b1", "a2", "a3"]);
    let any = q
        .claim(&claim_as("w2", Duration::from_secs(30)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(any.id, wan.id, "only a worker that runs wan takes it");
    let depth = q.depth().await.unwrap();
    assert!(depth
        .iter()
        .any(|d| d.engine == "wan" && d.status == Status::Running && d.count == 1));
}

/// `n` submits of `owner` at once, alternating between the two servers; returns the
/// created tasks and the ids of all tasks they were answered with.
async fn burst(
    servers: [&Arc<dyn TaskStore>; 2],
    n: usize,
    owner: &'static str,
    key: Option<&'static str>,
    quota: usize,
) -> (usize, HashSet<String>) {
    let mut handles = Vec::new();
    for i in 0..n {
        let q = servers[i % 2].clone();
        handles.push(tokio::spawn(async move {
            let id = kinema_server::ids::new_id(kinema_server::ids::TASK).unwrap();
            let request = json!({"image": "upl_x", "prompt": "wave"});
            let task = NewTask {
                id: &id,
                owner,
                engine: "rig",
                idempotency_key: key,
                request: &request,
            };
            q.submit(task, quota).await.unwrap()
        }));
    }
    let (mut created, mut ids) = (0, HashSet::new());
    for h in handles {
        match h.await.unwrap() {
            Submitted::Created(t) => {
                created += 1;
                ids.insert(t.id);
            }
            Submitted::Existing(t) => {
                ids.insert(t.id);
            }
            Submitted::QuotaFull(_) => {}
        }
    }
    (created, ids)
}

async fn sql(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
}

#[tokio::test]
async fn idempotency_keys_and_quotas_hold_across_servers() {
    let Some((_s, url, a)) = fresh("idempotency", 3).await else {
        return;
    };
    let a: Arc<dyn TaskStore> = Arc::new(a);
    let b: Arc<dyn TaskStore> = Arc::new(PgQueue::connect(&url, 3).await.unwrap());
    let (created, ids) = burst([&a, &b], 12, "alice", Some("k1"), 5).await;
    assert_eq!((created, ids.len()), (1, 1));
    let (accepted, _) = burst([&a, &b], 20, "bob", None, 5).await;
    assert_eq!(accepted, 5, "the quota holds across both servers");
}

#[tokio::test]
async fn other_processes_hear_of_work_and_cancels_at_once() {
    let Some((_s, url, listener)) = fresh("notifications", 3).await else {
        return;
    };
    let api = PgQueue::connect(&url, 3).await.unwrap();
    let mut cancels = listener.signals().subscribe_cancels();
    // Let the listener connection subscribe before anything is sent.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let poll = Duration::from_secs(20);
    let woken = listener.signals().work_or_timeout(poll);
    let started = std::time::Instant::now();
    let t = submit(&api, "a", "rig").await;
    woken.await;
    assert!(
        started.elapsed() < poll / 2,
        "woken by NOTIFY, not by the poll"
    );
    listener
        .claim(&claim_as("w1", Duration::from_secs(30)))
        .await
        .unwrap()
        .unwrap();
    api.cancel("a", &t.id).await.unwrap();
    let id = tokio::time::timeout(poll / 2, cancels.recv())
        .await
        .expect("cancel NOTIFY arrives")
        .unwrap();
    assert_eq!(id, t.id);
}

#[tokio::test]
async fn far_from_the_quota_submits_run_side_by_side_and_still_stop_exactly_at_it() {
    let Some((_s, url, a)) = fresh("quota_fast_path", 3).await else {
        return;
    };
    let max_connections: i64 = sql(&url)
        .await
        .query_one("SELECT current_setting('max_connections')::BIGINT", &[])
        .await
        .unwrap()
        .get(0);
    let a: Arc<dyn TaskStore> = Arc::new(a);
    let b: Arc<dyn TaskStore> = Arc::new(PgQueue::connect(&url, 3).await.unwrap());
    // The same key from 12 clients at once, on the shared-lock path: one task.
    let (_, ids) = burst([&a, &b], 12, "carol", Some("same"), 1_000_000).await;
    assert_eq!(ids.len(), 1);
    // From one task to past the quota: the first submits take the shared path, the last
    // ones the exclusive one; exactly `quota` tasks exist at the end.
    let quota = max_connections as usize + 10;
    let (created, _) = burst([&a, &b], quota + 10, "carol", None, quota).await;
    assert_eq!(created + 1, quota);
    assert_eq!(a.count(Status::Pending).await.unwrap(), quota);
}

/// The record of a task's video-service tasks is kept per task and key, replaced in place,
/// forgotten on request, and seen by every process of the cluster.
#[tokio::test]
async fn provider_tasks_are_recorded_per_task_and_shared_between_processes() {
    use kinema_jobs::{ProviderTask, TaskState};
    let Some((_s, url, a)) = fresh("provider_tasks", 3).await else {
        return;
    };
    let b = PgQueue::connect(&url, 3).await.unwrap();
    let t = submit(&a, "owner", "runway").await;
    let entry = |id: Option<&str>| ProviderTask {
        provider: "runway".into(),
        model: "gen4_turbo".into(),
        task_id: id.map(str::to_string),
        state: if id.is_some() {
            TaskState::Submitted
        } else {
            TaskState::Submitting
        },
        external_id: format!("kinema-{}", t.id),
        submitted_at: 1,
        estimated_usd: 0.1,
    };
    assert!(b.provider_tasks(&t.id).await.unwrap().is_empty());
    a.save_provider_task(&t.id, "wave", &entry(None))
        .await
        .unwrap();
    a.save_provider_task(&t.id, "wave", &entry(Some("rw-1")))
        .await
        .unwrap();
    a.save_provider_task(&t.id, "bow", &entry(None))
        .await
        .unwrap();
    let seen = b.provider_tasks(&t.id).await.unwrap();
    assert_eq!(
        seen.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        ["bow", "wave"]
    );
    assert_eq!(seen[1].1, entry(Some("rw-1")));
    b.forget_provider_task(&t.id, "bow").await.unwrap();
    assert_eq!(a.provider_tasks(&t.id).await.unwrap().len(), 1);
    // Only tasks of the queue have records.
    assert!(a
        .save_provider_task("tsk_missing", "wave", &entry(None))
        .await
        .is_err());
}
