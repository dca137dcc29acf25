-- Schema version 2: the video-service tasks (Runway, Luma, Kling) each task submitted.
--
-- An entry is written before the service's create request is sent and updated with the
-- service's task id once it answers. Kept in the queue rather than on the worker's disk,
-- so a task that another worker takes over after a crash resumes the paid task by polling
-- instead of submitting (and paying) again, and every API server can show it.

CREATE TABLE provider_tasks (
  task_id    TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  -- Identifies the request within the task (one per action of an action set).
  key        TEXT NOT NULL,
  entry      JSONB NOT NULL,
  updated_at BIGINT NOT NULL DEFAULT kinema_now_ms(),
  PRIMARY KEY (task_id, key)
);
