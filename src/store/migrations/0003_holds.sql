-- Releasing holds: an action can be cancelled before it runs, and a release
-- is recorded once per decision.

ALTER TABLE actions DROP CONSTRAINT actions_state_check;
ALTER TABLE actions ADD CONSTRAINT actions_state_check CHECK (state IN ('queued', 'running', 'done', 'failed', 'cancelled'));

CREATE TABLE releases (
  decision_id  uuid PRIMARY KEY REFERENCES decisions (id),
  tenant       text NOT NULL REFERENCES tenants (id),
  released_at  timestamptz NOT NULL,
  actor        jsonb NOT NULL,
  reason       text NOT NULL
);
