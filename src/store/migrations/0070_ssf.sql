-- Shared Signals (connectors/ssf, docs/ssf.md).
--
-- ssf_streams: the event streams receivers created on Warden's transmitter
-- (SSF 1.0 "Management API for SET Event Streams"), one row per stream, owned by the configured receiver whose
-- bearer token created it. `config` holds the receiver-supplied properties
-- (delivery, events_requested, description); status is enabled, paused or
-- disabled (SSF 1.0 "Stream Status").
--
-- ssf_sets: the Security Event Tokens queued for a stream, as claims (signed
-- at delivery, with the key active then). Push streams are delivered by a
-- worker with backoff (RFC 8935); poll streams are handed out until
-- acknowledged (RFC 8936). Nothing is deleted on failure: failed rows stay
-- listed (`warden ssf sets --failed`).
--
-- ssf_received: the `jti` of every SET Warden's receiver accepted, per
-- transmitter issuer: a second SET with the same jti is a replay.

CREATE TABLE ssf_streams (
  tenant       text NOT NULL REFERENCES tenants (id),
  id           text NOT NULL,
  receiver     text NOT NULL,
  config       jsonb NOT NULL,
  status       text NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'paused', 'disabled')),
  reason       text,
  created_at   timestamptz NOT NULL,
  updated_at   timestamptz NOT NULL,
  PRIMARY KEY (tenant, id)
);
CREATE INDEX ssf_streams_receiver ON ssf_streams (tenant, receiver);

CREATE TABLE ssf_sets (
  id               bigserial PRIMARY KEY,
  tenant           text NOT NULL,
  stream_id        text NOT NULL,
  jti              text NOT NULL,
  event_type       text NOT NULL,
  claims           jsonb NOT NULL,
  method           text NOT NULL CHECK (method IN ('push', 'poll')),
  state            text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'delivered', 'failed')),
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL,
  lease_until      timestamptz,
  last_status      integer,
  last_error       text,
  created_at       timestamptz NOT NULL,
  delivered_at     timestamptz,
  UNIQUE (tenant, stream_id, jti),
  FOREIGN KEY (tenant, stream_id) REFERENCES ssf_streams (tenant, id) ON DELETE CASCADE
);
CREATE INDEX ssf_sets_due ON ssf_sets (next_attempt_at) WHERE state IN ('queued', 'running');
CREATE INDEX ssf_sets_stream ON ssf_sets (tenant, stream_id, state, id);

CREATE TABLE ssf_received (
  tenant       text NOT NULL REFERENCES tenants (id),
  issuer       text NOT NULL,
  jti          text NOT NULL,
  received_at  timestamptz NOT NULL,
  PRIMARY KEY (tenant, issuer, jti)
);
