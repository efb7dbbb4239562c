-- Detection (src/detect): partial correlation state and alerts.

-- What a detection rule has seen for one key (a person's canonical identity,
-- an actor, …): the matching changes still inside the rule's window, as JSON.
-- One row per (tenant, rule, key), locked while a change is correlated, so
-- replicas never interleave on the same key. `rule_hash` ties the state to the
-- rule's definition: state of an edited rule is discarded. `expires_at` is
-- when nothing in it can match any more (pruned); `due_at` when an absence
-- rule must check whether the expected change came.
CREATE TABLE detection_state (
  tenant      text NOT NULL REFERENCES tenants (id),
  rule        text NOT NULL,
  key         text NOT NULL,
  rule_hash   text NOT NULL,
  events      jsonb NOT NULL,
  expires_at  timestamptz NOT NULL,
  due_at      timestamptz,
  updated_at  timestamptz NOT NULL,
  PRIMARY KEY (tenant, rule, key)
);
CREATE INDEX detection_state_expiry ON detection_state (expires_at);
CREATE INDEX detection_state_due ON detection_state (due_at) WHERE due_at IS NOT NULL;

-- Alerts: changes that together match a rule. Matches on the same key close
-- in time are grouped into one alert (body.matches); body is the whole alert.
CREATE TABLE alerts (
  id          uuid PRIMARY KEY,
  tenant      text NOT NULL REFERENCES tenants (id),
  key         text NOT NULL,
  rule        text NOT NULL,
  severity    text NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
  status      text NOT NULL CHECK (status IN ('open', 'closed')),
  first_at    timestamptz NOT NULL,
  last_at     timestamptz NOT NULL,
  raised_at   timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL,
  body        jsonb NOT NULL
);
CREATE INDEX alerts_tenant_time ON alerts (tenant, raised_at DESC, id DESC);
CREATE INDEX alerts_open_key ON alerts (tenant, key, last_at) WHERE status = 'open';
