-- Warden store, version 1: tenants, inbox, changes, decisions, actions (outbox),
-- audit chain, cursors, API keys. PostgreSQL 15+ and PGlite run the same SQL.

CREATE TABLE tenants (
  id                text PRIMARY KEY,
  created_at        timestamptz NOT NULL DEFAULT now(),
  policy_version    text,
  policy_loaded_at  timestamptz
);

-- Raw deliveries, written before a hook is acknowledged. The unique key is
-- the de-duplication point for vendor retries and hook/poll overlap.
CREATE TABLE inbox (
  id               bigserial PRIMARY KEY,
  tenant           text NOT NULL REFERENCES tenants (id),
  source           text NOT NULL,
  event_id         text NOT NULL,
  event_type       text,
  via              text NOT NULL CHECK (via IN ('hook', 'poll', 'ssf', 'inline', 'api')),
  payload          jsonb NOT NULL,
  received_at      timestamptz NOT NULL,
  occurred_at      timestamptz,
  state            text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'processed', 'ignored', 'failed')),
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL,
  processed_at     timestamptz,
  error            text,
  UNIQUE (tenant, source, event_id)
);
CREATE INDEX inbox_due ON inbox (next_attempt_at) WHERE state = 'pending';

-- Normalized identity changes (src/core/identity-change.ts); body is the whole change.
CREATE TABLE changes (
  id           uuid PRIMARY KEY,
  tenant       text NOT NULL REFERENCES tenants (id),
  kind         text NOT NULL,
  channel      text NOT NULL,
  target_id    text NOT NULL,
  actor_id     text NOT NULL,
  source_idp   text NOT NULL,
  source_via   text NOT NULL,
  occurred_at  timestamptz NOT NULL,
  observed_at  timestamptz NOT NULL,
  body         jsonb NOT NULL
);
CREATE INDEX changes_target ON changes (tenant, target_id, occurred_at);

-- Which vendor events a change was built from: one event, one change.
CREATE TABLE change_events (
  tenant     text NOT NULL,
  idp        text NOT NULL,
  event_id   text NOT NULL,
  change_id  uuid NOT NULL REFERENCES changes (id),
  PRIMARY KEY (tenant, idp, event_id)
);

CREATE TABLE decisions (
  id              uuid PRIMARY KEY,
  tenant          text NOT NULL REFERENCES tenants (id),
  change_id       uuid NOT NULL UNIQUE REFERENCES changes (id),
  outcome         text NOT NULL CHECK (outcome IN ('allow', 'hold', 'deny')),
  mode            text NOT NULL CHECK (mode IN ('enforce', 'monitor')),
  tier            text NOT NULL,
  policy_version  text NOT NULL,
  decided_at      timestamptz NOT NULL,
  body            jsonb NOT NULL
);
CREATE INDEX decisions_tenant_time ON decisions (tenant, decided_at);

-- Outbox: actions connectors execute, claimed with FOR UPDATE SKIP LOCKED.
CREATE TABLE actions (
  id               uuid PRIMARY KEY,
  tenant           text NOT NULL REFERENCES tenants (id),
  decision_id      uuid REFERENCES decisions (id),
  kind             text NOT NULL,
  target_id        text NOT NULL,
  params           jsonb NOT NULL,
  idempotency_key  text NOT NULL,
  dry_run          boolean NOT NULL,
  state            text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'failed')),
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL,
  lease_until      timestamptz,
  last_error       text,
  result           jsonb,
  created_at       timestamptz NOT NULL,
  updated_at       timestamptz NOT NULL,
  UNIQUE (tenant, idempotency_key)
);
CREATE INDEX actions_due ON actions (next_attempt_at) WHERE state IN ('queued', 'running');
CREATE INDEX actions_decision ON actions (tenant, decision_id);

-- Append-only, hash-chained audit log; `record` is the canonical JSON that
-- was hashed (src/audit/audit-record.ts), kept verbatim so it can be re-hashed.
CREATE TABLE audit (
  tenant     text NOT NULL,
  seq        bigint NOT NULL CHECK (seq > 0),
  id         uuid NOT NULL UNIQUE,
  at         timestamptz NOT NULL,
  type       text NOT NULL,
  record     text NOT NULL,
  prev_hash  text NOT NULL,
  hash       text NOT NULL,
  PRIMARY KEY (tenant, seq)
);

-- The tip of each tenant's chain; its row lock serializes appends.
CREATE TABLE audit_heads (
  tenant  text PRIMARY KEY,
  seq     bigint NOT NULL,
  hash    text NOT NULL
);

CREATE FUNCTION warden_audit_is_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the audit log is append-only (% refused)', TG_OP;
END
$$;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit
  FOR EACH ROW EXECUTE FUNCTION warden_audit_is_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
  FOR EACH STATEMENT EXECUTE FUNCTION warden_audit_is_append_only();

-- Poller watermarks and other per-tenant positions.
CREATE TABLE cursors (
  tenant      text NOT NULL,
  name        text NOT NULL,
  value       jsonb NOT NULL,
  updated_at  timestamptz NOT NULL,
  PRIMARY KEY (tenant, name)
);

-- Machine clients. Only a hash of the secret is kept.
CREATE TABLE api_keys (
  id           text PRIMARY KEY,
  tenant       text NOT NULL REFERENCES tenants (id),
  name         text NOT NULL,
  secret_hash  text NOT NULL,
  scopes       jsonb NOT NULL,
  created_at   timestamptz NOT NULL,
  revoked_at   timestamptz
);
CREATE INDEX api_keys_tenant ON api_keys (tenant);
