import { resourceLink, type LinkOptions, type LinkTarget } from '../links.js';

/**
 * What a chat or e-mail notification says, whatever the channel: who did or
 * asked for what, to whom (and the target's tier), why the policy held it,
 * and a deep link. Built from the stored event body (the same body a signed
 * webhook carries), so a message says what the event said when it was queued.
 */
export interface NotificationMessage {
  /** The event type, e.g. `hold.placed`. */
  type: string;
  /** One line: what happened. */
  title: string;
  /** How urgent: chat channels colour by it. */
  severity: 'info' | 'low' | 'medium' | 'high' | 'critical';
  /** Who acted or asked. */
  who: string;
  /** What: the change and its target. */
  what: string;
  /** The target's tier, when known. */
  tier?: string;
  /** Why the policy held or flagged it. */
  why: string;
  /** Deep link (API resource until the console lands; src/notify/links.ts). */
  link: string;
  /** Label of the link. */
  linkText: string;
  /** For whom the route sends it (`approvers`, `security`, …). */
  role: string;
  /** When the event happened (ISO 8601). */
  at: string;
}

type Data = Record<string, unknown>;
const obj = (v: unknown): Data => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Data) : {});
const str = (v: unknown, fallback = 'unknown'): string => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : fallback);
const list = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
const severityOf = (v: unknown, fallback: NotificationMessage['severity']): NotificationMessage['severity'] =>
  SEVERITIES.includes(v as (typeof SEVERITIES)[number]) ? (v as NotificationMessage['severity']) : fallback;

function actorName(actor: unknown): string {
  const a = obj(actor);
  return str(a.name ?? a.login ?? a.id);
}

function targetName(target: unknown): string {
  const t = obj(target);
  return str(t.login ?? t.id);
}

/** The parts of a message that come from the event; `role`, `at` and the link base are added by {@link renderMessage}. */
function describe(
  type: string,
  data: Data,
): Omit<NotificationMessage, 'role' | 'at' | 'link' | 'linkText' | 'type'> & { target: LinkTarget; linkText: string } {
  const request = obj(data.request);
  const rules = list(request.rules);
  const requestWhy = rules.length
    ? `policy rule${rules.length > 1 ? 's' : ''} ${rules.join(', ')} require${rules.length > 1 ? '' : 's'} an approved request`
    : 'the policy requires an approved request';
  switch (type) {
    case 'request.pending_approval':
      return {
        title: `Change request waiting for approval: ${str(request.kind)} for ${targetName(request.target)}`,
        severity: 'medium',
        who: `requested by ${str(obj(request.requester).id)}, to be done by ${str(obj(request.executor).id)}`,
        what: `${str(request.kind)} for ${targetName(request.target)}`,
        ...(typeof request.tier === 'string' ? { tier: request.tier } : {}),
        why: requestWhy,
        target: { kind: 'request', id: str(request.id) },
        linkText: 'Open the request (approve only in Warden, after signing in)',
      };
    case 'alert.break_glass':
      return {
        title: `Break-glass used: ${str(request.kind)} for ${targetName(request.target)}`,
        severity: severityOf(data.severity, 'high'),
        who: `declared by ${actorName(data.actor)}`,
        what: `${str(request.kind)} for ${targetName(request.target)}, without proofing or approval`,
        ...(typeof request.tier === 'string' ? { tier: request.tier } : {}),
        why: `break-glass reason: ${str(data.reason)}; review due ${str(data.reviewDueAt)}`,
        target: { kind: 'request', id: str(request.id) },
        linkText: 'Open the request',
      };
    case 'alert.review_overdue':
      return {
        title: `Review overdue: ${str(request.kind)} for ${targetName(request.target)}`,
        severity: severityOf(data.severity, 'medium'),
        who: `executed by ${str(obj(request.executor).id)}`,
        what: `review ${str(data.reviewId)} of request ${str(request.id)}`,
        ...(typeof request.tier === 'string' ? { tier: request.tier } : {}),
        why: `the review was due ${str(data.dueAt)}`,
        target: { kind: 'request', id: str(request.id) },
        linkText: 'Open the request',
      };
    case 'alert.raised': {
      const changes = Array.isArray(data.changes) ? data.changes.map(obj) : [];
      const actors = [...new Set(changes.map((c) => str(c.actor)))];
      return {
        title: `Alert: ${str(data.title, str(data.rule))}`,
        severity: severityOf(data.severity, 'high'),
        who: actors.length ? `by ${actors.join(', ')}` : 'unknown actor',
        what: `${changes.map((c) => str(c.kind)).join(', ') || 'changes'} on ${str(data.key)}`,
        why: `detection rule ${str(data.rule)}: ${str(data.summary, '')}`.trim(),
        target: { kind: 'alert', id: str(data.alertId) },
        linkText: 'Open the alert',
      };
    }
    case 'hold.placed': {
      const change = obj(data.change);
      const reasons = Array.isArray(data.rules)
        ? data.rules
            .map(obj)
            .filter((r) => r.outcome !== 'allow')
            .map((r) => `${str(r.id)}: ${str(r.reason)}`)
        : [];
      return {
        title: `Change held: ${str(change.kind)} for ${targetName(change.target)}`,
        severity: 'high',
        who: `by ${actorName(change.actor)} (${str(change.channel)}, ${str(change.idp)})`,
        what: `${str(change.kind)} for ${targetName(change.target)}`,
        ...(typeof data.tier === 'string' ? { tier: data.tier } : {}),
        why: reasons.length ? reasons.join('; ') : 'held by the policy',
        target: { kind: 'person', id: str(obj(change.target).id) },
        linkText: 'Requests for this person',
      };
    }
    case 'delivery.stopped':
      return {
        title: `Delivery stopped: ${str(data.kind)} ${str(data.name)}`,
        severity: 'high',
        who: 'Warden',
        what:
          data.eventType === undefined
            ? `${str(data.kind)} ${str(data.name)} stopped delivering to Warden`
            : `${str(data.kind)} ${str(data.name)} gave up on event ${str(data.eventType)} after ${str(data.attempts)} attempts`,
        why: `last error: ${str(data.error)}`,
        target: { kind: 'alerts' },
        linkText: 'Open alerts (failed deliveries: warden notify list --failed)',
      };
    case 'person.not_me':
      return {
        title: `"This wasn't me": ${str(data.person)} did not ask for ${str(data.subjectKind)} ${str(data.subjectId)}`,
        severity: 'critical',
        who: `reported by ${str(data.person)} through the link e-mailed to them`,
        what: `${str(data.subjectKind)} ${str(data.subjectId)}; ${str(data.cancelled, '0')} request(s) cancelled, held in ${list(data.heldIn).join(', ') || 'no IdP'}`,
        why: 'the affected person says they did not ask for this: possible social engineering of the help desk',
        target: { kind: 'alert', id: str(data.alertId) },
        linkText: 'Open the alert',
      };
    default:
      return {
        title: type,
        severity: 'info',
        who: actorName(data.actor),
        what: type,
        why: '',
        target: { kind: 'alerts' },
        linkText: 'Open alerts',
      };
  }
}

/**
 * The message for an event as stored (`eventBody`: `{ type, timestamp, data }`).
 *
 * @example renderMessage(delivery.event.body, 'acme', 'https://warden.acme.com', 'approvers')
 */
export function renderMessage(body: string, tenant: string, publicUrl: string, role: string, options: LinkOptions = {}): NotificationMessage {
  const parsed = obj(JSON.parse(body));
  const type = str(parsed.type);
  const d = describe(type, obj(parsed.data));
  const { target, ...rest } = d;
  return { ...rest, type, role, at: str(parsed.timestamp), link: resourceLink(publicUrl, tenant, target, options) };
}
