-- A brokered request's run has one record (issue 15): Warden's own change
-- `broker:<requestId>` in own_changes (0080). Requests kept a second copy in
-- their body (`brokered`: state, time, reference, expiry); what a request
-- shows about its run is now read from own_changes, and the copy goes.
--
-- A copy whose run has no own_changes row (the connector did not record it)
-- is moved there first, so a run the IdP did (`done`) or may have done
-- (`started`) is still never performed again. A `failed` copy names no run:
-- the connector forgot the run the IdP refused, or kept it `started`.

INSERT INTO own_changes (tenant, connector, ref, target_id, event_types, at, result, kind, state, started_at, finished_at)
SELECT r.tenant,
       CASE WHEN r.kind = 'tap.issue' THEN 'entra' ELSE 'okta' END,
       'broker:' || r.id::text,
       r.target_id,
       CASE r.kind
            WHEN 'tap.issue' THEN '["Admin registered security info"]'::jsonb
            WHEN 'password.reset' THEN '["user.account.reset_password"]'::jsonb
            ELSE '["user.mfa.factor.reset_all", "user.mfa.factor.deactivate"]'::jsonb
       END,
       (r.body -> 'brokered' ->> 'at')::timestamptz,
       CASE WHEN r.body -> 'brokered' ->> 'state' = 'done'
            THEN jsonb_strip_nulls(jsonb_build_object('reference', r.body -> 'brokered' ->> 'reference', 'expiresAt', r.body -> 'brokered' ->> 'expiresAt', 'details', '{}'::jsonb))
       END,
       r.kind,
       r.body -> 'brokered' ->> 'state',
       (r.body -> 'brokered' ->> 'at')::timestamptz,
       CASE WHEN r.body -> 'brokered' ->> 'state' = 'done' THEN (r.body -> 'brokered' ->> 'at')::timestamptz END
  FROM requests r
 WHERE r.body -> 'brokered' ->> 'state' IN ('started', 'done')
   AND NOT EXISTS (SELECT 1 FROM own_changes o WHERE o.tenant = r.tenant AND o.ref = 'broker:' || r.id::text);

UPDATE requests SET body = body - 'brokered' WHERE body ? 'brokered';
