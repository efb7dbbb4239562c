-- Outbound events (src/notify): each event once, with its exact body (what is
-- signed on every attempt), and one delivery per subscribed endpoint,
-- claimed with FOR UPDATE SKIP LOCKED and retried with backoff.

CREATE TABLE notify_events (
  id          uuid PRIMARY KEY,
  tenant      text NOT NULL REFERENCES tenants (id),
  type        text NOT NULL,
  body        text NOT NULL,
  created_at  timestamptz NOT NULL
);
CREATE INDEX notify_events_tenant ON notify_events (tenant, created_at);

CREATE TABLE notify_deliveries (
  id               bigserial PRIMARY KEY,
  event_id         uuid NOT NULL REFERENCES notify_events (id),
  tenant           text NOT NULL,
  endpoint         text NOT NULL,
  state            text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'delivered', 'failed')),
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL,
  lease_until      timestamptz,
  last_status      integer,
  last_error       text,
  delivered_at     timestamptz,
  UNIQUE (event_id, endpoint)
);
CREATE INDEX notify_deliveries_due ON notify_deliveries (next_attempt_at) WHERE state IN ('queued', 'running');
