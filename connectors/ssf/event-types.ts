/**
 * Event type URIs Warden sends and understands, as the specifications spell
 * them (copied from the spec texts, not from memory):
 *
 * - OpenID CAEP 1.0 "Event Types" (openid/sharedsignals `openid-caep-1_0.md`, 2025-08-29):
 *   base `https://schemas.openid.net/secevent/caep/event-type/`.
 * - OpenID RISC 1.0 "Event Types" (`openid-risc-1_0.xml`, 2025-08-29):
 *   base `https://schemas.openid.net/secevent/risc/event-type/`.
 * - OpenID SSF 1.0 "Verification Event" verification event (`openid-sharedsignals-framework-1_0.md`).
 * - Okta's `user-risk-change` (Okta SDK model `OktaUserRiskChangeEvent`, Okta's
 *   SSF receiver API): its claims are taken from that SDK model; that Okta's
 *   entity risk policy reacts to it is Okta's documentation, not verified by us
 *   against a live org (docs/ssf.md).
 */

const CAEP = 'https://schemas.openid.net/secevent/caep/event-type/';
const RISC = 'https://schemas.openid.net/secevent/risc/event-type/';

export const CAEP_CREDENTIAL_CHANGE = `${CAEP}credential-change`;
export const CAEP_SESSION_REVOKED = `${CAEP}session-revoked`;
export const RISC_ACCOUNT_CREDENTIAL_CHANGE_REQUIRED = `${RISC}account-credential-change-required`;
export const RISC_ACCOUNT_DISABLED = `${RISC}account-disabled`;
export const RISC_IDENTIFIER_CHANGED = `${RISC}identifier-changed`;
export const RISC_RECOVERY_INFORMATION_CHANGED = `${RISC}recovery-information-changed`;
export const SSF_VERIFICATION = 'https://schemas.openid.net/secevent/ssf/event-type/verification';
/** SSF 1.0 "Stream Updated Event": the transmitter changed a stream's status on its own. */
export const SSF_STREAM_UPDATED = 'https://schemas.openid.net/secevent/ssf/event-type/stream-updated';
export const OKTA_USER_RISK_CHANGE = 'https://schemas.okta.com/secevent/okta/event-type/user-risk-change';

/** Delivery method URIs (SSF 1.0 "Stream Configuration Metadata"). */
export const PUSH_METHOD = 'urn:ietf:rfc:8935';
export const POLL_METHOD = 'urn:ietf:rfc:8936';

/** What Warden's receiver turns into identity changes (connectors/ssf/map-set.ts). */
export const RECEIVED_EVENT_TYPES: readonly string[] = [
  CAEP_CREDENTIAL_CHANGE,
  RISC_ACCOUNT_DISABLED,
  RISC_IDENTIFIER_CHANGED,
  RISC_RECOVERY_INFORMATION_CHANGED,
];

/** The JOSE `typ` of a SET (RFC 8417 §2.3, required by SSF 1.0 "Explicit Typing of SETs"). */
export const SET_TYP = 'secevent+jwt';
/** The media type of a pushed SET (RFC 8935). */
export const SET_MEDIA_TYPE = 'application/secevent+jwt';
