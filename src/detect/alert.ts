import { SEVERITIES, type Alert, type AlertChange, type AlertMatch, type Severity } from '../core/alert.js';
import { CHANGE_KINDS, CHANNELS, type IdentityChange } from '../core/identity-change.js';
import { isoMillis } from './iso-millis.js';

/**
 * Building and grouping alerts (the schema is src/core/alert.ts): a new
 * alert for a rule match, whether a match groups with an open alert, the
 * merge, and the human summary.
 */

/** Rank of a severity, for "the highest wins". */
export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

/** The short label of a principal in summaries: login, else email, else id. */
export function principalLabel(p: { id: string; login?: string | undefined; email?: string | undefined }): string {
  return p.login ?? p.email ?? p.id;
}

/** The one copy of each kind and channel name (a parsed change brings its own copy of each). */
const CANONICAL: ReadonlyMap<string, string> = new Map([...CHANGE_KINDS, ...CHANNELS].map((name) => [name, name]));

/**
 * What an alert keeps of a change. Detection holds it for as long as a
 * window is open (a day for some rules), so it shares what it can: the kind
 * and channel names, and the target's label when the actor's is the same.
 */
export function alertChangeOf(change: IdentityChange, coveredBy?: string): AlertChange {
  const target = principalLabel(change.target);
  const actor = principalLabel(change.actor);
  const ref: AlertChange = {
    id: change.id,
    kind: (CANONICAL.get(change.kind) ?? change.kind) as AlertChange['kind'],
    channel: (CANONICAL.get(change.channel) ?? change.channel) as AlertChange['channel'],
    occurredAt: change.occurredAt,
    idp: change.source.idp,
    eventIds: change.source.eventIds,
    rawType: change.source.rawType,
    targetId: change.target.id,
    target,
    actor: actor === target ? target : actor,
  };
  if (coveredBy !== undefined) ref.coveredBy = coveredBy;
  return ref;
}

/** States of a matched change request that make a change approved work. */
const COVERING: ReadonlySet<string> = new Set(['approved', 'executed', 'reviewed']);

/** The approved request that covers a change, if the workflow matched one (or Warden executed it). */
export function coveringRequest(request: { id: string; state: string } | undefined): string | undefined {
  return request && COVERING.has(request.state) ? request.id : undefined;
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

const byTime = (a: AlertChange, b: AlertChange) => isoMillis(a.occurredAt) - isoMillis(b.occurredAt) || a.id.localeCompare(b.id);

/** `10:02:03Z` on the alert's first day, the full date otherwise: summaries stay short. */
function shortTime(iso: string, firstDay: string): string {
  const t = new Date(isoMillis(iso)).toISOString();
  return t.slice(0, 10) === firstDay ? t.slice(11, 19) + 'Z' : t.slice(0, 19) + 'Z';
}

/** The human summary of an alert, e.g. "Help-desk takeover chain on alice@acme.example: factor.reset_all by agent@… (helpdesk) 10:00:00Z; …". */
export function summarize(alert: Pick<Alert, 'key' | 'title' | 'matches' | 'changes' | 'firstAt'>): string {
  const firstDay = new Date(isoMillis(alert.firstAt)).toISOString().slice(0, 10);
  const others = alert.matches.filter((m) => m.title !== alert.title).map((m) => m.title);
  const head = `${alert.title}${others.length ? ` (also: ${[...new Set(others)].join('; ')})` : ''} on ${alert.key}, ${firstDay}`;
  const shown = alert.changes
    .slice(0, 12)
    .map((c) => `${c.kind} via ${c.channel}${c.actor !== c.target ? ` by ${c.actor}` : ''} (${c.idp}) at ${shortTime(c.occurredAt, firstDay)}`);
  const more = alert.changes.length > shown.length ? `; and ${alert.changes.length - shown.length} more` : '';
  // Joined rather than concatenated: one flat string, not a tree of pieces, for as long as the alert is open.
  return [head, ': ', shown.join('; '), more].join('');
}

/**
 * A new alert for a match. `summarize: false` leaves `summary` empty, for a
 * caller that merges more matches in at once and summarizes the result (the
 * summary depends only on the final alert).
 */
export function newAlert(input: { id: string; tenant: string; match: MatchInput; now: Date; rulesVersion: string }, summarizeNow = true): Alert {
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
    matches: [
      { rule: match.rule.id, title: match.rule.title, severity: match.rule.severity, attack: [...match.rule.attack], at, changeIds: changes.map((c) => c.id) },
    ],
    changes,
    firstAt: changes[0]!.occurredAt,
    lastAt: changes[changes.length - 1]!.occurredAt,
    raisedAt: at,
    updatedAt: at,
    rulesVersion: input.rulesVersion,
  };
  if (summarizeNow) alert.summary = summarize(alert);
  return alert;
}

/** Whether a match belongs to an open alert: same key, and within `groupForMs` of it in event time. */
export function groupsWith(alert: Alert, match: MatchInput, groupForMs: number): boolean {
  if (alert.status !== 'open' || alert.key !== match.key || match.changes.length === 0) return false;
  const times = match.changes.map((c) => isoMillis(c.occurredAt));
  return Math.min(...times) <= isoMillis(alert.lastAt) + groupForMs && Math.max(...times) >= isoMillis(alert.firstAt) - groupForMs;
}

/**
 * The alert with a further match grouped in: its changes added (each once),
 * the severity raised to the highest match, the primary rule the most severe
 * one (the earlier among equals), the summary rewritten.
 */
export function mergeMatch(alert: Alert, match: MatchInput, now: Date, summarizeNow = true): Alert {
  const known = new Set(alert.changes.map((c) => c.id));
  const changes = [...alert.changes, ...match.changes.filter((c) => !known.has(c.id))].sort(byTime);
  const at = now.toISOString();
  const matches: AlertMatch[] = [
    ...alert.matches,
    {
      rule: match.rule.id,
      title: match.rule.title,
      severity: match.rule.severity,
      attack: [...match.rule.attack],
      at,
      changeIds: [...match.changes].sort(byTime).map((c) => c.id),
    },
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
  if (summarizeNow) merged.summary = summarize(merged);
  return merged;
}
