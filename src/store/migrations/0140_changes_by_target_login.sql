-- A person's recent changes by login, whatever IdP recorded them (issue 14: the
-- risk context Warden observes itself). The Okta login and the Entra / Microsoft
-- 365 UPN of one person differ in target_id but share the login: filing a change
-- request reads the target's mailbox-rule, phone and new-device changes by both.
CREATE INDEX changes_target_login ON changes (tenant, lower(body #>> '{target,login}'), occurred_at);
