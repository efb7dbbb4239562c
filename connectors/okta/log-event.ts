/**
 * Okta System Log events (LogEvent), read defensively: the same object comes
 * from event hooks (`data.events[]`), from `GET /api/v1/logs`, and from
 * exports whose tools lower-case top-level keys (Panther's case-insensitive
 * events: `eventtype`, `debugcontext`, …). `canonicalLogEvent` puts Okta's
 * own spelling back so the rest of the connector reads one shape.
 *
 * Schema: LogEvent in Okta's management OpenAPI
 * (https://developer.okta.com/docs/api/openapi/okta-management/management/tag/SystemLog/).
 */

/** The parts of a LogEvent Warden reads (all optional: Okta omits what does not apply). */
export interface LogEvent {
  uuid?: string;
  published?: string;
  eventType?: string;
  displayMessage?: string;
  severity?: string;
  legacyEventType?: string;
  actor?: LogActor;
  target?: LogTarget[];
  client?: {
    ipAddress?: string;
    userAgent?: { rawUserAgent?: string; os?: string; browser?: string };
    geographicalContext?: { country?: string; city?: string; state?: string };
    device?: string;
    zone?: string;
  };
  outcome?: { result?: string; reason?: string };
  transaction?: { id?: string; type?: string; detail?: Record<string, unknown> | null };
  debugContext?: { debugData?: Record<string, unknown> | null };
  authenticationContext?: { externalSessionId?: string; credentialType?: string; rootSessionId?: string };
  securityContext?: { isProxy?: boolean | null };
  [key: string]: unknown;
}

/** `actor` of a LogEvent (a user, an app, Okta itself). */
export interface LogActor {
  id?: string;
  type?: string;
  alternateId?: string;
  displayName?: string;
  detailEntry?: Record<string, unknown> | null;
}

/** One of a LogEvent's `target[]` (user, authenticator enrollment, token, group…). */
export interface LogTarget extends LogActor {
  changeDetails?: { from?: unknown; to?: unknown } | null;
}

/** Okta's spelling of every LogEvent key that has more than one word, by lower-cased key. */
const CANONICAL_KEYS: Readonly<Record<string, string>> = Object.freeze(
  Object.fromEntries(
    [
      'eventType',
      'displayMessage',
      'legacyEventType',
      'debugContext',
      'debugData',
      'authenticationContext',
      'securityContext',
      'alternateId',
      'displayName',
      'detailEntry',
      'changeDetails',
      'ipAddress',
      'userAgent',
      'rawUserAgent',
      'geographicalContext',
      'postalCode',
      'ipChain',
      'externalSessionId',
      'rootSessionId',
      'credentialType',
      'credentialProvider',
      'authenticationProvider',
      'authenticationStep',
      'insertionTimestamp',
      'asNumber',
      'asOrg',
      'isProxy',
      'requestApiTokenId',
      'requestId',
      'requestUri',
      'threatSuspected',
    ].map((k) => [k.toLowerCase(), k]),
  ),
);

function canonical(value: unknown, depth: number): unknown {
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => canonical(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const name = CANONICAL_KEYS[key.toLowerCase()] ?? key;
    // Okta's own spelling wins when a record carries both.
    if (name in out && key !== name) continue;
    out[name] = canonical(v, depth + 1);
  }
  return out;
}

/** True when `value` looks like an Okta LogEvent (in Okta's spelling or lower-cased). */
export function isLogEventLike(value: unknown): boolean {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return false;
  const keys = new Set(Object.keys(value).map((k) => k.toLowerCase()));
  return keys.has('eventtype') && (keys.has('actor') || keys.has('uuid') || keys.has('published'));
}

/**
 * The event with Okta's key spelling (`eventtype` → `eventType`,
 * `debugcontext` → `debugContext`, …), values untouched.
 */
export function canonicalLogEvent(raw: unknown): LogEvent {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return {};
  return canonical(raw, 0) as LogEvent;
}

/**
 * `published` as an ISO 8601 time: Okta sends `2024-01-05T10:00:00.000Z`;
 * exports write `2022-06-22 18:18:29.015` (UTC, no zone). Undefined when
 * it is absent or unreadable.
 */
export function publishedIso(published: unknown): string | undefined {
  if (typeof published !== 'string') return undefined;
  const m = /^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?$/.exec(published.trim());
  if (!m) return undefined;
  const ms = (m[3] ?? '0').padEnd(3, '0').slice(0, 3);
  const zone = m[4] ?? 'Z';
  const t = new Date(`${m[1]}T${m[2]}.${ms}${zone === 'Z' ? 'Z' : zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone}`);
  return Number.isNaN(t.getTime()) ? undefined : t.toISOString();
}
