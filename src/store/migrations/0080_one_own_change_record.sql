-- One record of what Warden itself does in an IdP, for every connector
-- (issue 15). A brokered request's run is an own change like an enforcement
-- action: `ref` `broker:<requestId>`, with a run state, so it is recorded
-- once (before the IdP call) and recognised when the IdP reports it back.
-- Until now Okta kept its runs in own_changes and Entra in broker_runs
-- (0030); the Entra rows move here and broker_runs goes.
--
-- state: `started` — recorded before the IdP call, which may or may not
-- have happened; `done` — the call returned and `result` says what it did.
-- For a broker run, `result` holds `{reference, expiresAt?, details}`
-- (never a secret) and `kind` the change kind it performs.

ALTER TABLE own_changes
  ADD COLUMN kind        text,
  ADD COLUMN state       text NOT NULL DEFAULT 'done' CHECK (state IN ('started', 'done')),
  ADD COLUMN started_at  timestamptz,
  ADD COLUMN finished_at timestamptz;

-- Rows written before: done once a result was recorded.
UPDATE own_changes
   SET state       = CASE WHEN result IS NULL THEN 'started' ELSE 'done' END,
       started_at  = at,
       finished_at = CASE WHEN result IS NULL THEN NULL ELSE at END;

-- Okta's broker rows name no kind: it follows from the event types recorded for them.
UPDATE own_changes
   SET kind = CASE WHEN event_types ? 'user.account.reset_password' THEN 'password.reset' ELSE 'factor.reset_all' END
 WHERE ref LIKE 'broker:%';

UPDATE own_changes SET started_at = at WHERE started_at IS NULL;
ALTER TABLE own_changes ALTER COLUMN started_at SET NOT NULL;

-- Entra's runs, kept with everything they recorded. A TAP is reported as
-- "Admin registered security info" (shared/research/entra.md §3).
INSERT INTO own_changes (tenant, connector, ref, target_id, event_types, at, result, kind, state, started_at, finished_at)
SELECT b.tenant,
       b.connector,
       'broker:' || b.request_id,
       COALESCE(b.details ->> 'targetId', ''),
       '["Admin registered security info"]'::jsonb,
       COALESCE(b.finished_at, b.started_at),
       CASE WHEN b.state = 'done'
            THEN jsonb_strip_nulls(jsonb_build_object('reference', b.reference, 'expiresAt', to_char(b.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'details', b.details))
       END,
       b.kind,
       b.state,
       b.started_at,
       b.finished_at
  FROM broker_runs b
 WHERE NOT EXISTS (SELECT 1 FROM own_changes o WHERE o.tenant = b.tenant AND o.ref = 'broker:' || b.request_id);

-- One run per request, whichever connector performs it.
CREATE UNIQUE INDEX own_changes_one_broker_run ON own_changes (tenant, ref) WHERE ref LIKE 'broker:%';

DROP TABLE broker_runs;
