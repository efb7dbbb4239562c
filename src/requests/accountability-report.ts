import { systemClock } from '../core/clock.js';
import type { ChangeRequest, Evidence } from '../core/change-request.js';
import type { Store } from '../store/store.js';
import { exceptionState, type ExceptionState } from './policy-exceptions.js';

/** The controls the report evidences, printed in its header. */
export const CONTROL_MAPPING = [
  {
    framework: 'OWASP Non-Human Identities Top 10 (2025)',
    control: 'NHI-03 (NHI3:2025 Vulnerable Third-Party NHI)',
    how: "changes made by integration and broker identities (ServiceNow, Okta Workflows, Warden's broker) count only when they match an approved request of a named executor; the rest are listed as unmatched",
  },
  {
    framework: 'NIST CSF 2.0',
    control: 'PR.AA-01 (identities and credentials for authorized users, services, and hardware are managed by the organization)',
    how: 'every MFA factor, password and TAP change is tied to who asked, how they were verified, who approved and who executed it, with the ticket',
  },
  {
    framework: 'NIST AI RMF 1.0',
    control: 'GOVERN (accountability, roles and oversight)',
    how: 'separation of duties between requester, approver and executor; break-glass with mandatory review; exceptions with owner, reason and expiry',
  },
] as const;

/** One change in the report, with its four parties. */
export interface ReportChange {
  occurredAt: string;
  changeId: string;
  decisionId: string;
  kind: string;
  channel: string;
  target: string;
  idp: string;
  eventIds: string[];
  outcome: string;
  requestId?: string;
  /** Who asked. */
  requester?: string;
  /** How the requester was verified, and by whom. */
  verification?: { method: string; level: string; verifier: string; at: string };
  /** Who approved. */
  approvers: string[];
  /** Who executed: the request's executor, and the identity seen in the IdP. */
  executor?: string;
  actor: string;
  ticket?: string;
  breakGlass: boolean;
  exceptions: string[];
  /** No request covered it although the change was assisted or a rule asked for one. */
  unmatched: boolean;
  reason: string;
}

/** A break-glass declaration in the report, with its review's state (overdue when open past its due time). */
export interface ReportBreakGlass {
  requestId: string;
  declaredAt: string;
  target: string;
  executor: string;
  declaredBy: string;
  reason: string;
  state: string;
  review: { id: string; state: 'open' | 'overdue' | 'done'; dueAt: string; outcome?: string; reviewer?: string; completedAt?: string };
}

/** The whole report: header (tenant, period, controls), changes, unmatched changes, break-glass, exceptions. */
export interface AccountabilityReport {
  tenant: string;
  since: string;
  until: string;
  generatedAt: string;
  controls: typeof CONTROL_MAPPING;
  changes: ReportChange[];
  unmatched: ReportChange[];
  breakGlass: ReportBreakGlass[];
  exceptions: Array<ExceptionState & { usedBy: number }>;
}

const ASSISTED = new Set(['helpdesk', 'admin', 'api', 'support']);
const who = (p: { id: string; login?: string | undefined; email?: string | undefined }) => p.login ?? p.email ?? p.id;

/** The verifier as a person: their recorded name, else the request party with their IdP id (records written before names were kept). */
function verifierOf(request: ChangeRequest, e: Evidence | undefined): string {
  if (!e) return 'unknown';
  if (e.verifier.name) return e.verifier.name;
  const party = [request.executor, request.requester, request.target].find((p) => p.id === e.verifier.id);
  return party ? who(party) : e.verifier.id;
}

function verificationOf(request: ChangeRequest, evidence: readonly Evidence[]): ReportChange['verification'] {
  const e = evidence.find((x) => x.id === request.proofing?.evidenceId);
  if (request.proofing)
    return { method: request.proofing.method, level: request.proofing.level, verifier: verifierOf(request, e), at: request.proofing.verifiedAt };
  return undefined;
}

/**
 * The accountability report of a tenant over a period: for every change an
 * IdP reported (proposed changes asked through /v1/decisions are not
 * changes), who asked, who verified and how, who approved, who executed,
 * which ticket; the changes no request covered; break-glass declarations
 * with their review state; exceptions with their state and use.
 */
export async function accountabilityReport(store: Store, tenant: string, since: Date, until: Date, now: Date = systemClock()): Promise<AccountabilityReport> {
  const changes: ReportChange[] = [];
  const exceptionUse = new Map<string, number>();
  const requests = new Map<string, { request: ChangeRequest; evidence: Evidence[]; approvals: string[] }>();
  const loadRequest = async (id: string) => {
    if (!requests.has(id)) {
      const request = await store.getRequest(tenant, id);
      if (!request) return undefined;
      const [evidence, approvals] = await Promise.all([store.listEvidence(tenant, id), store.listApprovals(tenant, id)]);
      requests.set(id, {
        request,
        evidence,
        approvals: approvals.filter((a) => a.verdict === 'approve').map((a) => a.names.find((n) => n.includes('@')) ?? a.approverId),
      });
    }
    return requests.get(id);
  };

  // The period is [since, until]: a change decided at `until` (e.g. "now") is in it.
  const end = new Date(until.getTime() + 1);
  for (let from = since; ; ) {
    const page = await store.listDecidedChanges(tenant, from, end, 500);
    for (const { decision, change } of page) {
      if (change.source.idp === 'api' && change.source.rawType === 'warden.decision_request') continue;
      const consumed = await store.getRequestByChange(tenant, change.id);
      const usedId = consumed?.id ?? decision.rules.find((r) => r.requestId)?.requestId;
      const r = usedId ? await loadRequest(usedId) : undefined;
      const exceptions = [...new Set(decision.rules.map((x) => x.exceptionId).filter((x): x is string => !!x))];
      for (const e of exceptions) exceptionUse.set(e, (exceptionUse.get(e) ?? 0) + 1);
      const askedForRequest = decision.rules.some((x) => x.obligations.request);
      const unmatched = !consumed && (askedForRequest || ASSISTED.has(change.channel));
      const verification = r ? verificationOf(r.request, r.evidence) : undefined;
      changes.push({
        occurredAt: change.occurredAt,
        changeId: change.id,
        decisionId: decision.id,
        kind: change.kind,
        channel: change.channel,
        target: who(change.target),
        idp: change.source.idp,
        eventIds: change.source.eventIds,
        outcome: decision.outcome,
        ...(r ? { requestId: r.request.id, requester: who(r.request.requester), executor: who(r.request.executor) } : {}),
        ...(verification ? { verification } : {}),
        approvers: r?.approvals ?? [],
        actor: who(change.actor),
        ...(r?.request.ticket ? { ticket: `${r.request.ticket.system}:${r.request.ticket.id}` } : {}),
        breakGlass: decision.rules.some((x) => x.breakGlass) || r?.request.breakGlass !== undefined,
        exceptions,
        unmatched,
        reason: decision.rules.map((x) => `${x.id}: ${x.reason}`).join('; ') || (decision.defaulted ? 'no rule matched (policy default)' : ''),
      });
    }
    if (page.length < 500) break;
    from = new Date(Date.parse(page[page.length - 1]!.decision.decidedAt) + 1);
  }

  const breakGlass: ReportBreakGlass[] = [];
  for (const request of await store.listRequests(tenant, { createdFrom: since, createdTo: end }, 10_000)) {
    if (!request.breakGlass) continue;
    const review = await store.getReview(tenant, request.breakGlass.reviewId);
    if (!review) continue;
    breakGlass.push({
      requestId: request.id,
      declaredAt: request.createdAt,
      target: who(request.target),
      executor: who(request.executor),
      declaredBy: request.createdBy.name ?? request.createdBy.id,
      reason: request.breakGlass.reason,
      state: request.state,
      review: {
        id: review.id,
        state: review.state === 'done' ? 'done' : Date.parse(review.dueAt) < now.getTime() ? 'overdue' : 'open',
        dueAt: review.dueAt,
        ...(review.outcome ? { outcome: review.outcome } : {}),
        ...(review.reviewer ? { reviewer: review.reviewer.name ?? review.reviewer.id } : {}),
        ...(review.completedAt ? { completedAt: review.completedAt } : {}),
      },
    });
  }
  breakGlass.sort((a, b) => a.declaredAt.localeCompare(b.declaredAt));

  const exceptions = (await store.listExceptions(tenant, {}))
    .filter((e) => Date.parse(e.createdAt) <= until.getTime() && (Date.parse(e.expiresAt) > since.getTime() || exceptionUse.has(e.id)))
    .map((e) => ({ ...exceptionState(e, now), usedBy: exceptionUse.get(e.id) ?? 0 }));

  return {
    tenant,
    since: since.toISOString(),
    until: until.toISOString(),
    generatedAt: now.toISOString(),
    controls: CONTROL_MAPPING,
    changes,
    unmatched: changes.filter((c) => c.unmatched),
    breakGlass,
    exceptions,
  };
}

const csvCell = (v: unknown) => {
  const s = v === undefined || v === null ? '' : Array.isArray(v) ? v.join(' ') : String(v);
  // Cells starting with = + - @ are formulas in spreadsheets: quote them inert.
  const safe = /^[=+\-@]/.test(s) ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
};

function headerLines(r: AccountabilityReport, prefix: string): string[] {
  return [
    `${prefix}Warden accountability report, tenant ${r.tenant}, ${r.since} to ${r.until} (generated ${r.generatedAt})`,
    ...r.controls.map((c) => `${prefix}${c.framework} ${c.control}: ${c.how}`),
  ];
}

/** The report as CSV: `#` header lines, then one row per change, break-glass and exception (column `record`). */
export function reportCsv(r: AccountabilityReport): string {
  const columns = [
    'record',
    'occurred_at',
    'kind',
    'target',
    'outcome',
    'requester',
    'verification',
    'verified_by',
    'approvers',
    'executor',
    'actor',
    'ticket',
    'request_id',
    'event_ids',
    'break_glass',
    'exceptions',
    'unmatched',
    'review',
    'detail',
  ];
  const lines = [...headerLines(r, '# '), columns.join(',')];
  for (const c of r.changes)
    lines.push(
      [
        'change',
        c.occurredAt,
        c.kind,
        c.target,
        c.outcome,
        c.requester,
        c.verification ? `${c.verification.method} (${c.verification.level})` : '',
        c.verification?.verifier,
        c.approvers,
        c.executor,
        c.actor,
        c.ticket,
        c.requestId,
        c.eventIds,
        c.breakGlass,
        c.exceptions,
        c.unmatched,
        '',
        c.reason,
      ]
        .map(csvCell)
        .join(','),
    );
  for (const b of r.breakGlass)
    lines.push(
      [
        'break_glass',
        b.declaredAt,
        '',
        b.target,
        b.state,
        '',
        '',
        '',
        '',
        b.executor,
        '',
        '',
        b.requestId,
        '',
        true,
        '',
        '',
        `${b.review.state}${b.review.outcome ? ` (${b.review.outcome})` : ''} due ${b.review.dueAt}`,
        b.reason,
      ]
        .map(csvCell)
        .join(','),
    );
  for (const e of r.exceptions)
    lines.push(
      [
        'exception',
        e.createdAt,
        e.ruleId,
        e.target,
        e.state,
        '',
        '',
        '',
        '',
        '',
        '',
        '',
        e.id,
        '',
        '',
        '',
        '',
        `owner ${e.owner}, until ${e.expiresAt}, used by ${e.usedBy}`,
        e.reason,
      ]
        .map(csvCell)
        .join(','),
    );
  return lines.join('\n') + '\n';
}

/** The report for people at a terminal. */
export function reportTable(r: AccountabilityReport): string {
  const out = [...headerLines(r, ''), ''];
  out.push(`Changes (${r.changes.length}, ${r.unmatched.length} unmatched)`);
  if (r.changes.length === 0) out.push('  none');
  for (const c of r.changes) {
    out.push(
      `  ${c.occurredAt}  ${c.kind} on ${c.target}  ${c.outcome.toUpperCase()}${c.unmatched ? '  UNMATCHED' : ''}${c.breakGlass ? '  BREAK-GLASS' : ''}${c.exceptions.length ? `  exception ${c.exceptions.join(', ')}` : ''}`,
    );
    out.push(
      `      asked: ${c.requester ?? '-'}   verified: ${c.verification ? `${c.verification.method} (${c.verification.level}) by ${c.verification.verifier}` : '-'}   approved: ${c.approvers.join(', ') || '-'}   executed: ${c.executor ?? '-'} (in the IdP: ${c.actor})   ticket: ${c.ticket ?? '-'}`,
    );
  }
  out.push('', `Break-glass (${r.breakGlass.length})`);
  if (r.breakGlass.length === 0) out.push('  none');
  for (const b of r.breakGlass)
    out.push(
      `  ${b.declaredAt}  ${b.target} by ${b.executor} (declared by ${b.declaredBy}): ${b.reason}  review ${b.review.state.toUpperCase()}${b.review.outcome ? ` ${b.review.outcome}` : ''}, due ${b.review.dueAt}`,
    );
  out.push('', `Exceptions (${r.exceptions.length})`);
  if (r.exceptions.length === 0) out.push('  none');
  for (const e of r.exceptions)
    out.push(`  ${e.ruleId} not applied to ${e.target}  ${e.state.toUpperCase()} until ${e.expiresAt}  owner ${e.owner}  used ${e.usedBy}x: ${e.reason}`);
  return out.join('\n') + '\n';
}
