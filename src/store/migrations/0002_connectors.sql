-- Connector plumbing: which connector executes an action, and leases so that
-- one replica at a time runs a tenant's poller or subscription manager.

ALTER TABLE actions ADD COLUMN connector text;

CREATE TABLE leases (
  name        text PRIMARY KEY,
  holder      text NOT NULL,
  expires_at  timestamptz NOT NULL
);
