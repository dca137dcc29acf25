//! The shared queue's record of each task's video-service tasks (migration 0002).

use kinema_jobs::ProviderTask;

use super::{PgQueue, PgResultExt};
use crate::backend::BackendResult;
use crate::store::provider_tasks::{damaged_entry, unserialisable};

impl PgQueue {
    pub(super) async fn provider_task_rows(
        &self,
        task: &str,
    ) -> BackendResult<Vec<(String, ProviderTask)>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("SELECT key, entry FROM provider_tasks WHERE task_id = $1 ORDER BY key")
            .await
            .db()?;
        let rows = client.query(&stmt, &[&task]).await.db()?;
        rows.iter()
            .map(|r| {
                let key: String = r.get(0);
                let entry: serde_json::Value = r.get(1);
                let parsed =
                    serde_json::from_value(entry).map_err(|e| damaged_entry(task, &key, e))?;
                Ok((key, parsed))
            })
            .collect()
    }

    pub(super) async fn upsert_provider_task(
        &self,
        task: &str,
        key: &str,
        entry: &ProviderTask,
    ) -> BackendResult<()> {
        let entry = serde_json::to_value(entry).map_err(unserialisable)?;
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "INSERT INTO provider_tasks (task_id, key, entry) VALUES ($1, $2, $3)
                 ON CONFLICT (task_id, key)
                 DO UPDATE SET entry = excluded.entry, updated_at = kinema_now_ms()",
            )
            .await
            .db()?;
        client.execute(&stmt, &[&task, &key, &entry]).await.db()?;
        Ok(())
    }

    pub(super) async fn delete_provider_task(&self, task: &str, key: &str) -> BackendResult<()> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("DELETE FROM provider_tasks WHERE task_id = $1 AND key = $2")
            .await
            .db()?;
        client.execute(&stmt, &[&task, &key]).await.db()?;
        Ok(())
    }
}
