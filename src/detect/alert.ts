import { z } from 'zod';
import { ChangeKind, Channel, TenantId, type IdentityChange } from '../core/identity-change.js';

/**
 * Alerts (design §6): changes that are each plausible alone but together
 * match a detection rule. Matches on the same key close in time are grouped
 * into one alert, so one attack on one person is one alert however many
 * rules it trips (the help-desk takeover chain trips three).
 */

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export const Severity = z.enum(SEVERITIES).describe('low < medium < high < critical');
export type Severity = z.infer<typeof Severity>;

/** Rank of a severity, for "the highest wins". */
export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

const IsoTime = z.iso.datetime({ offset: true });

/** One change that formed an alert: enough to find it (`id`, vendor event ids) and to read the story. */
export const AlertChange = z
  .object({
    id: z.string().describe('The IdentityChange id'),
    kind: ChangeKind,
    channel: Channel,
    occurredAt: IsoTime.describe('When the IdP says it happened'),
    idp: z.string().describe('Source IdP: okta, entra, m365, …'),
    eventIds: z.array(z.string()).describe('Vendor event ids it was built from'),
    rawType: z.string().describe('Vendor event type'),
    targetId: z.string().describe('IdP id of the target'),
    target: z.string().describe('Target login (or id)'),
    actor: z.string().describe('Actor login (or id)'),
  })
  .strict();
export type AlertChange = z.infer<typeof AlertChange>;

/** One rule match inside an alert. */
export const AlertMatch = z
  .object({
    rule: z.string(),
    title: z.string(),
    severity: Severity,
    attack: z.array(z.string()).describe('MITRE ATT&CK technique ids'),
    at: IsoTime.describe('When Warden found the match'),
    changeIds: z.array(z.string()).describe('The changes that formed this match, in event-time order'),
  })
  .strict();
export type AlertMatch = z.infer<typeof AlertMatch>;

export const AlertStatus = z.enum(['open', 'closed']);

export const Alert = z
  .object({
    id: z.uuid(),
    tenant: TenantId,
    key: z.string().describe('What the rules correlated on: a person\'s canonical identity (login / UPN / email, lower case, aliases applied), or another key a rule names'),
    rule: z.string().describe('The rule of the most severe match (the first, among equals)'),
    title: z.string(),
    severity: Severity.describe('The highest severity among the matches'),
    status: AlertStatus,
    summary: z.string().describe('What happened, for people'),
    matches: z.array(AlertMatch).min(1),
    changes: z.array(AlertChange).min(1).describe('Every change of every match, in event-time order'),
    firstAt: IsoTime.describe('Event time of the earliest change'),
    lastAt: IsoTime.describe('Event time of the latest change'),
    raisedAt: IsoTime,
    updatedAt: IsoTime,
    rulesVersion: z.string().describe('Content hash of the rule pack that raised it'),
    closed: z
      .object({ at: IsoTime, by: z.object({ type: z.string(), id: z.string(), name: z.string().optional() }), reason: z.string() })
      .strict()
      .optional(),
  })
  .strict()
  .describe('A detection alert');
export type Alert = z.infer<typeof Alert>;

/** The short label of a principal in summaries: login, else email, else id. */
export function principalLabel(p: { id: string; login?: string | undefined; email?: string | undefined }): string {
  return p.login ?? p.email ?? p.id;
}

/** What an alert keeps of a change. */
export function alertChangeOf(change: IdentityChange): AlertChange {
  return {
    id: change.id,
    kind: change.kind,
    channel: change.channel,
    occurredAt: change.occurredAt,
    idp: change.source.idp,
    eventIds: change.source.eventIds,
    rawType: change.source.rawType,
    targetId: change.target.id,
    target: principalLabel(change.target),
    actor: principalLabel(change.actor),
  };
}

/** What a rule contributes to an alert. */
export interface RuleInfo {
  id: string;
  title: string;
  severity: Severity;
  attack: readonly string[];
}

/** A rule match: the rule, its key, and the changes, in event-time order. */
export interface MatchInput {
  rule: RuleInfo;
  key: string;
  changes: readonly AlertChange[];
}

const byTime = (a: AlertChange, b: AlertChange) => Date.parse(a.occurredAt) - Date.parse(b.occurredAt) || a.id.localeCompare(b.id);

/** `10:02:03Z` on the alert's first day, the full date otherwise: summaries stay short. */
function shortTime(iso: string, firstDay: string): string {
  const t = new Date(iso).toISOString();
  return t.slice(0, 10) === firstDay ? t.slice(11, 19) + 'Z' : t.slice(0, 19) + 'Z';
}

/** The human summary of an alert, e.g. "Help-desk takeover chain on alice@acme.example: factor.reset_all by agent@… (helpdesk) 10:00:00Z; …". */
export function summarize(alert: Pick<Alert, 'key' | 'title' | 'matches' | 'changes' | 'firstAt'>): string {
  const firstDay = new Date(alert.firstAt).toISOString().slice(0, 10);
  const others = alert.matches.filter((m) => m.title !== alert.title).map((m) => m.title);
  const head = `${alert.title}${others.length ? ` (also: ${[...new Set(others)].join('; ')})` : ''} on ${alert.key}, ${firstDay}`;
  const shown = alert.changes.slice(0, 12).map((c) => `${c.kind} via ${c.channel}${c.actor !== c.target ? ` by ${c.actor}` : ''} (${c.idp}) at ${shortTime(c.occurredAt, firstDay)}`);
  const more = alert.changes.length > shown.length ? `; and ${alert.changes.length - shown.length} more` : '';
  return `${head}: ${shown.join('; ')}${more}`;
}

/** A new alert for a match. */
export function newAlert(input: { id: string; tenant: string; match: MatchInput; now: Date; rulesVersion: string }): Alert {
  const { match, now } = input;
  const changes = [...match.changes].sort(byTime);
  const at = now.toISOString();
  const alert: Alert = {
    id: input.id,
    tenant: input.tenant,
    key: match.key,
    rule: match.rule.id,
    title: match.rule.title,
    severity: match.rule.severity,
    status: 'open',
    summary: '',
    matches: [{ rule: match.rule.id, title: match.rule.title, severity: match.rule.severity, attack: [...match.rule.attack], at, changeIds: changes.map((c) => c.id) }],
    changes,
    firstAt: changes[0]!.occurredAt,
    lastAt: changes[changes.length - 1]!.occurredAt,
    raisedAt: at,
    updatedAt: at,
    rulesVersion: input.rulesVersion,
  };
  alert.summary = summarize(alert);
  return alert;
}

/** Whether a match belongs to an open alert: same key, and within `groupForMs` of it in event time. */
export function groupsWith(alert: Alert, match: MatchInput, groupForMs: number): boolean {
  if (alert.status !== 'open' || alert.key !== match.key || match.changes.length === 0) return false;
  const times = match.changes.map((c) => Date.parse(c.occurredAt));
  return Math.min(...times) <= Date.parse(alert.lastAt) + groupForMs && Math.max(...times) >= Date.parse(alert.firstAt) - groupForMs;
}

/**
 * The alert with a further match grouped in: its changes added (each once),
 * the severity raised to the highest match, the primary rule the most severe
 * one (the earlier among equals), the summary rewritten.
 */
export function mergeMatch(alert: Alert, match: MatchInput, now: Date): Alert {
  const known = new Set(alert.changes.map((c) => c.id));
  const changes = [...alert.changes, ...match.changes.filter((c) => !known.has(c.id))].sort(byTime);
  const at = now.toISOString();
  const matches: AlertMatch[] = [
    ...alert.matches,
    { rule: match.rule.id, title: match.rule.title, severity: match.rule.severity, attack: [...match.rule.attack], at, changeIds: [...match.changes].sort(byTime).map((c) => c.id) },
  ];
  let primary = matches[0]!;
  for (const m of matches) if (severityRank(m.severity) > severityRank(primary.severity)) primary = m;
  const merged: Alert = {
    ...alert,
    rule: primary.rule,
    title: primary.title,
    severity: primary.severity,
    matches,
    changes,
    firstAt: changes[0]!.occurredAt,
    lastAt: changes[changes.length - 1]!.occurredAt,
    updatedAt: at,
  };
  merged.summary = summarize(merged);
  return merged;
}
