-- Kinema's shared task queue, schema version 1 (docs/DEPLOY.md, "Upgrades").
--
-- Task times are milliseconds since the Unix epoch, as in the embedded SQLite queue, but
-- taken from the database clock; leases and retry delays are timestamptz compared with
-- now(). Either way every machine agrees on "now", whatever its own clock says.

CREATE FUNCTION kinema_now_ms() RETURNS BIGINT LANGUAGE sql STABLE
  AS $$ SELECT (extract(epoch FROM now()) * 1000)::BIGINT $$;

CREATE TABLE uploads (
  id         TEXT PRIMARY KEY,
  owner      TEXT NOT NULL,
  width      INTEGER NOT NULL,
  height     INTEGER NOT NULL,
  pixel_art  BOOLEAN NOT NULL,
  bytes      BIGINT NOT NULL,
  created_at BIGINT NOT NULL DEFAULT kinema_now_ms()
);

CREATE TABLE tasks (
  seq             BIGSERIAL PRIMARY KEY,
  id              TEXT NOT NULL UNIQUE,
  owner           TEXT NOT NULL,
  idempotency_key TEXT,
  engine          TEXT NOT NULL,
  status          TEXT NOT NULL
                  CHECK (status IN ('PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED')),
  request         JSONB NOT NULL,
  progress        DOUBLE PRECISION NOT NULL DEFAULT 0,
  stage           TEXT,
  created_at      BIGINT NOT NULL DEFAULT kinema_now_ms(),
  started_at      BIGINT,
  finished_at     BIGINT,
  outputs         JSONB NOT NULL DEFAULT '[]',
  error           JSONB,
  -- Claims so far; each claim's number names its output prefix and its lease.
  attempts        INTEGER NOT NULL DEFAULT 0,
  -- Claims handed back by a worker shutting down; they do not count against the maximum.
  released        INTEGER NOT NULL DEFAULT 0,
  max_attempts    INTEGER NOT NULL CHECK (max_attempts > 0),
  render_ms       DOUBLE PRECISION,
  -- The worker holding (or that last held) the task.
  worker          TEXT,
  -- RUNNING only: when the holder's claim lapses unless renewed.
  lease_until     TIMESTAMPTZ,
  -- PENDING only: not claimable before this (back-off after a transient failure).
  available_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
  last_error      JSONB
);
CREATE UNIQUE INDEX tasks_idempotency ON tasks (owner, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
CREATE INDEX tasks_pending ON tasks (engine, seq) WHERE status = 'PENDING';
CREATE INDEX tasks_running ON tasks (lease_until) WHERE status = 'RUNNING';
CREATE INDEX tasks_unfinished ON tasks (owner) WHERE status IN ('PENDING', 'RUNNING');
CREATE INDEX tasks_by_owner ON tasks (owner, seq);

-- A submit in one round trip: find the idempotency key's task, or check the owner's quota
-- and queue a new task, so that every API server agrees on both.
--
-- Far from the quota, submits of one owner run side by side under a shared per-owner lock:
-- every submit still uncommitted holds a connection, so with `unfinished + max_connections
-- <= quota` no combination of them can pass the quota. Closer to it, the caller asks again
-- with p_exclusive, which waits for those to commit and then counts exactly.
CREATE FUNCTION kinema_submit(
    p_id TEXT, p_owner TEXT, p_key TEXT, p_engine TEXT, p_request JSONB,
    p_max_attempts INTEGER, p_quota BIGINT, p_exclusive BOOLEAN,
    OUT o_outcome TEXT, OUT o_task TEXT, OUT o_unfinished BIGINT)
LANGUAGE plpgsql AS $$
DECLARE
  v_lock BIGINT := hashtext('kinema-owner:' || p_owner);
BEGIN
  IF p_exclusive THEN
    PERFORM pg_advisory_xact_lock(v_lock);
  ELSE
    PERFORM pg_advisory_xact_lock_shared(v_lock);
  END IF;
  IF p_key IS NOT NULL THEN
    SELECT t.id INTO o_task FROM tasks t WHERE t.owner = p_owner AND t.idempotency_key = p_key;
    IF FOUND THEN
      o_outcome := 'existing';
      RETURN;
    END IF;
  END IF;
  SELECT COUNT(*) INTO o_unfinished FROM tasks t
    WHERE t.owner = p_owner AND t.status IN ('PENDING', 'RUNNING');
  IF NOT p_exclusive
      AND o_unfinished + current_setting('max_connections')::BIGINT > p_quota THEN
    o_outcome := 'near_quota';
    RETURN;
  END IF;
  IF o_unfinished >= p_quota THEN
    o_outcome := 'quota_full';
    RETURN;
  END IF;
  BEGIN
    INSERT INTO tasks (id, owner, idempotency_key, engine, status, request, max_attempts)
      VALUES (p_id, p_owner, p_key, p_engine, 'PENDING', p_request, p_max_attempts);
  EXCEPTION WHEN unique_violation THEN
    -- A concurrent submit with the same key (under the shared lock) committed first.
    SELECT t.id INTO o_task FROM tasks t WHERE t.owner = p_owner AND t.idempotency_key = p_key;
    o_outcome := 'existing';
    RETURN;
  END;
  INSERT INTO transitions (task_id, from_status, to_status) VALUES (p_id, NULL, 'PENDING');
  PERFORM pg_notify('kinema_work', p_engine), pg_notify('kinema_change', p_id);
  o_outcome := 'created';
  o_task := p_id;
END
$$;

-- Every state change, with the attempt and worker it concerned and why it happened
-- (lease_expired, retry, released, cancelled).
CREATE TABLE transitions (
  seq         BIGSERIAL PRIMARY KEY,
  task_id     TEXT NOT NULL,
  from_status TEXT,
  to_status   TEXT NOT NULL,
  at          BIGINT NOT NULL DEFAULT kinema_now_ms(),
  attempt     INTEGER,
  worker      TEXT,
  reason      TEXT
);
CREATE INDEX transitions_by_task ON transitions (task_id, seq);

-- Round-robin between tokens: a claim takes the oldest task of the owner served longest ago.
CREATE SEQUENCE owner_turn;
CREATE TABLE owner_turns (
  owner  TEXT PRIMARY KEY,
  served BIGINT NOT NULL
);

-- Worker processes and what they run, refreshed by their heartbeat.
CREATE TABLE workers (
  id         TEXT PRIMARY KEY,
  engines    TEXT[] NOT NULL,
  slots      INTEGER NOT NULL,
  started_at BIGINT NOT NULL DEFAULT kinema_now_ms(),
  seen_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
