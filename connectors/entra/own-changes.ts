import { OwnChanges } from '../../src/connector/index.js';

/** Entra's own-change service (src/connector/own-changes.ts): the one matching semantics every connector uses. */
export const ENTRA_OWN_CHANGES = new OwnChanges('entra', 'Entra');

/**
 * The directoryAudit activities (`activityDisplayName`) Entra logs for each
 * change Warden makes, so the change is recognised when the audit poller
 * reads it back (shared/research/entra.md §3 and §4: "Update
 * StsRefreshTokenValidFrom Timestamp" for revokeSignInSessions, "Disable
 * account", "Admin registered security info" for a TAP, …). A PATCH of the
 * user is also logged as "Update user". Confirming a user compromised is
 * logged by Identity Protection, not as a change Warden governs: nothing to
 * expect.
 */
export const ENTRA_OWN_EVENT_TYPES: Readonly<Record<string, readonly string[]>> = Object.freeze({
  revoke_sessions: ['Update StsRefreshTokenValidFrom Timestamp'],
  hold_group: ['Add member to group'],
  release_hold_group: ['Remove member from group'],
  suspend: ['Disable account', 'Update user'],
  unsuspend: ['Enable account', 'Update user'],
  expire_password: ['Set force change user password', 'Update user'],
  raise_risk: [],
  remove_new_factor: ['Admin deleted security info'],
  reset_factors: ['Admin deleted security info'],
  'broker:tap.issue': ['Admin registered security info'],
  // An application's secrets and certificates are one activity, adding or removing (what the normalizer reads as credential.add).
  revoke_new_credential: ['Update application – Certificates and secrets management', 'Remove service principal credentials', 'Update service principal'],
});
