-- Change requests (src/workflow): requests, their evidence and approvals,
-- break-glass reviews, policy exceptions, and idempotency keys for retried
-- POSTs. `body` holds the whole record (src/core/change-request.ts); the
-- columns beside it are what queries filter and lock on.

CREATE TABLE requests (
  id                  uuid PRIMARY KEY,
  tenant              text NOT NULL REFERENCES tenants (id),
  state               text NOT NULL CHECK (state IN ('draft', 'proofing', 'pending_approval', 'approved', 'executed', 'reviewed', 'rejected', 'expired', 'cancelled')),
  kind                text NOT NULL,
  target_id           text NOT NULL,
  requester_id        text NOT NULL,
  executor_id         text NOT NULL,
  break_glass         boolean NOT NULL,
  created_at          timestamptz NOT NULL,
  updated_at          timestamptz NOT NULL,
  approved_at         timestamptz,
  expires_at          timestamptz NOT NULL,
  consumed_by_change  uuid,
  body                jsonb NOT NULL
);
CREATE INDEX requests_match ON requests (tenant, target_id, kind) WHERE state = 'approved';
CREATE INDEX requests_listing ON requests (tenant, created_at DESC, id DESC);
CREATE INDEX requests_open_expiry ON requests (expires_at) WHERE state IN ('draft', 'proofing', 'pending_approval', 'approved');
-- A change consumes at most one request.
CREATE UNIQUE INDEX requests_consumed_by ON requests (tenant, consumed_by_change) WHERE consumed_by_change IS NOT NULL;

-- Proofing results and ticket checks, accepted or not: the record of how the requester was verified.
CREATE TABLE request_evidence (
  id           uuid PRIMARY KEY,
  tenant       text NOT NULL REFERENCES tenants (id),
  request_id   uuid NOT NULL REFERENCES requests (id),
  kind         text NOT NULL CHECK (kind IN ('proofing', 'ticket')),
  method       text NOT NULL,
  accepted     boolean NOT NULL,
  reference    text,
  verified_at  timestamptz NOT NULL,
  body         jsonb NOT NULL
);
CREATE INDEX request_evidence_request ON request_evidence (tenant, request_id, verified_at);
-- One verification (a verifier's message, a push transaction) is evidence once, for one request.
CREATE UNIQUE INDEX request_evidence_reference ON request_evidence (tenant, method, reference) WHERE kind = 'proofing' AND reference IS NOT NULL;

-- One verdict per person per request: the database itself refuses a second approval by the same approver.
CREATE TABLE request_approvals (
  tenant       text NOT NULL REFERENCES tenants (id),
  request_id   uuid NOT NULL REFERENCES requests (id),
  approver_id  text NOT NULL,
  verdict      text NOT NULL CHECK (verdict IN ('approve', 'reject')),
  at           timestamptz NOT NULL,
  body         jsonb NOT NULL,
  PRIMARY KEY (request_id, approver_id)
);

-- Reviews due after the fact (break-glass).
CREATE TABLE reviews (
  id            uuid PRIMARY KEY,
  tenant        text NOT NULL REFERENCES tenants (id),
  request_id    uuid NOT NULL REFERENCES requests (id),
  state         text NOT NULL CHECK (state IN ('open', 'done')),
  due_at        timestamptz NOT NULL,
  created_at    timestamptz NOT NULL,
  completed_at  timestamptz,
  body          jsonb NOT NULL
);
CREATE INDEX reviews_open ON reviews (tenant, due_at) WHERE state = 'open';

-- A rule not applied to a named target, with owner, reason and expiry.
CREATE TABLE policy_exceptions (
  id          uuid PRIMARY KEY,
  tenant      text NOT NULL REFERENCES tenants (id),
  rule_id     text NOT NULL,
  target      text NOT NULL,
  created_at  timestamptz NOT NULL,
  expires_at  timestamptz NOT NULL,
  revoked_at  timestamptz,
  body        jsonb NOT NULL
);
CREATE INDEX policy_exceptions_target ON policy_exceptions (tenant, target);

-- Idempotency-Key: the first result of a POST, replayed for its retries.
CREATE TABLE idempotency_keys (
  tenant       text NOT NULL REFERENCES tenants (id),
  principal    text NOT NULL,
  key          text NOT NULL,
  fingerprint  text NOT NULL,
  status       integer NOT NULL,
  response     jsonb NOT NULL,
  created_at   timestamptz NOT NULL,
  PRIMARY KEY (tenant, principal, key)
);
