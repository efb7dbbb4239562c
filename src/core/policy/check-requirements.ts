import type { RequestSnapshot } from '../change-request.js';
import type { IdentityChange } from '../identity-change.js';
import { proofingSatisfies } from '../proofing.js';
import type { CompiledRequirement } from './compile-policy.js';
import { formatDuration } from './duration.js';

/** Whether a change request meets a rule's `require` block, and what is missing if not. */
export interface RequirementCheck {
  met: boolean;
  unmet: string[];
}

/** How far an approval or proofing may lie after the IdP's time of the change: the clocks of Warden and the IdP differ a little. */
export const CLOCK_SKEW_MS = 2 * 60 * 1000;

type Person = Pick<IdentityChange['actor'], 'id' | 'login' | 'email'>;

/** Every name a principal goes by (id, login, email), lower-cased: a party may be referred to by any of them. */
function namesOf(person: Person, ...more: string[]): Set<string> {
  const names = new Set<string>();
  for (const n of [person.id, person.login, person.email, ...more]) if (n) names.add(n.toLowerCase());
  return names;
}

/** What the checks read of a change, parsed once per change (several rules may check one change). */
interface PreparedChange {
  at: number;
  actorNames: Set<string>;
}

/** What the checks read of a request, parsed once per request. */
interface PreparedRequest {
  approvals: Array<{ approver: string; at: number; groups: readonly string[]; roles: readonly string[] }>;
  /** Requester, target and executor as the request names them, lower-cased. */
  requester: string;
  executor: string;
  target: string;
  /** Identities allowed to act for the executor, lower-cased. */
  serviceIdentities: string[];
  approvedAt?: number;
  expiresAt?: number;
  verifiedAt?: number;
}

const preparedChanges = new WeakMap<IdentityChange, PreparedChange>();
const preparedRequests = new WeakMap<RequestSnapshot, PreparedRequest>();
const parsedSources = new WeakMap<readonly string[], Array<{ type: string; name: string }>>();

function prepareChange(change: IdentityChange): PreparedChange {
  let p = preparedChanges.get(change);
  if (!p) {
    p = { at: Date.parse(change.occurredAt), actorNames: namesOf(change.actor) };
    preparedChanges.set(change, p);
  }
  return p;
}

function prepareRequest(request: RequestSnapshot): PreparedRequest {
  let p = preparedRequests.get(request);
  if (!p) {
    p = {
      approvals: request.approvals.map((a) => ({ approver: a.approverId.toLowerCase(), at: Date.parse(a.at), groups: a.groups, roles: a.roles })),
      requester: request.requesterId.toLowerCase(),
      executor: request.executorId.toLowerCase(),
      target: request.targetId.toLowerCase(),
      serviceIdentities: (request.serviceIdentities ?? []).map((s) => s.toLowerCase()),
      ...(request.approvedAt !== undefined ? { approvedAt: Date.parse(request.approvedAt) } : {}),
      ...(request.expiresAt !== undefined ? { expiresAt: Date.parse(request.expiresAt) } : {}),
      ...(request.proofing ? { verifiedAt: Date.parse(request.proofing.verifiedAt) } : {}),
    };
    preparedRequests.set(request, p);
  }
  return p;
}

function sourcesOf(from: readonly string[]): Array<{ type: string; name: string }> {
  let parsed = parsedSources.get(from);
  if (!parsed) {
    parsed = from.map((source) => {
      const i = source.indexOf(':');
      const type = source.slice(0, i);
      const name = source.slice(i + 1);
      return { type, name: type === 'user' ? name.toLowerCase() : name };
    });
    parsedSources.set(from, parsed);
  }
  return parsed;
}

/**
 * How a request is judged against a change.
 * - default: the request must have been proofed and approved **before** the
 *   change (within `CLOCK_SKEW_MS`): an approval cannot cover a change made
 *   before it.
 * - `releaseAt`: the change was held and the question is whether the request,
 *   approved since, releases that hold. Proofing and approvals count when given
 *   by `releaseAt` (epoch ms), even after the change; everything else (tenant,
 *   target, kind, executor, separation of duties, expiry, ticket, approver
 *   sources, ttl) is judged as always. The decision stays a hold; the workflow
 *   records its release.
 */
export interface RequirementOptions {
  releaseAt?: number;
}

const NO_OPTIONS: RequirementOptions = Object.freeze({});

/**
 * Approvals that count: distinct approvers who are not the requester, the
 * target or the executor (by id, login or email, case-insensitively), from an
 * allowed source, given before the change (or, with `releaseAt`, before the
 * release) and within the ttl.
 */
export function qualifyingApprovers(
  requirement: CompiledRequirement,
  request: RequestSnapshot,
  change: IdentityChange,
  options: RequirementOptions = NO_OPTIONS,
): string[] {
  const { at, actorNames } = prepareChange(change);
  const by = options.releaseAt ?? at;
  const r = prepareRequest(request);
  const targetNames = namesOf(change.target);
  const isParty = (name: string) => name === r.requester || name === r.executor || name === r.target || actorNames.has(name) || targetNames.has(name);
  const sources = sourcesOf(requirement.approvals?.from ?? []);
  const ttlMs = requirement.ttlSeconds === undefined ? undefined : requirement.ttlSeconds * 1000;
  const approvers = new Set<string>();
  for (const approval of r.approvals) {
    if (approvers.has(approval.approver) || isParty(approval.approver)) continue;
    if (approval.at > by + CLOCK_SKEW_MS) continue;
    if (ttlMs !== undefined && at - approval.at > ttlMs) continue;
    const allowed =
      sources.length === 0 ||
      sources.some(({ type, name }) =>
        type === 'group' ? approval.groups.includes(name) : type === 'role' ? approval.roles.includes(name) : approval.approver === name,
      );
    if (allowed) approvers.add(approval.approver);
  }
  return [...approvers];
}

/**
 * Checks a change request against a rule's requirements. The workflow finds
 * the candidate request; this is the policy core's own, last check of it,
 * including separation of duties: an approval by the requester, the target or
 * the executor never counts (whichever of id, login or email names them), nor
 * does the same approver twice; the executor may not have requested it.
 * The change's actor must be the executor, or one of the request's
 * `serviceIdentities` acting for them (a broker, an integration account).
 * A break-glass request stands in for proofing, ticket and approvals unless
 * the rule sets `breakGlass: false`; it must still match and be unexpired.
 * Approvals and proofing count only when given before the change (within
 * `CLOCK_SKEW_MS`; with `options.releaseAt`, before the release) and, with a
 * ttl, not longer than the ttl before it.
 */
export function checkRequirements(
  requirement: CompiledRequirement,
  request: RequestSnapshot | undefined,
  change: IdentityChange,
  options: RequirementOptions = NO_OPTIONS,
): RequirementCheck {
  if (!request) return { met: false, unmet: ['no approved change request covers this change'] };
  const unmet: string[] = [];
  const { at, actorNames } = prepareChange(change);
  const r = prepareRequest(request);
  const by = options.releaseAt ?? at;

  if (request.tenant !== change.tenant) unmet.push(`request ${request.id} belongs to tenant ${request.tenant}`);
  if (request.kind !== change.kind) unmet.push(`request ${request.id} is for ${request.kind}, not ${change.kind}`);
  if (request.targetId !== change.target.id) unmet.push(`request ${request.id} is for another target`);
  if (!actorNames.has(r.executor) && !r.serviceIdentities.some((s) => actorNames.has(s))) unmet.push(`request ${request.id} names another executor`);
  if (r.requester === r.executor || actorNames.has(r.requester)) unmet.push(`request ${request.id} was requested and executed by the same person`);
  if (request.state !== 'approved') unmet.push(`request ${request.id} is ${request.state}, not approved`);
  if (request.consumedAt !== undefined) unmet.push(`request ${request.id} was already used at ${request.consumedAt}`);
  if (r.expiresAt !== undefined && at > r.expiresAt) unmet.push(`request ${request.id} expired at ${request.expiresAt}`);

  // Break-glass stands in for proofing, ticket and approvals (the executor acts on a written
  // reason and is reviewed afterwards), unless the rule says no emergency may bypass it.
  if (request.breakGlass) {
    if (requirement.breakGlass === false) unmet.push(`request ${request.id} is a break-glass request, which this rule does not accept`);
    return { met: unmet.length === 0, unmet };
  }

  if (requirement.proofing) {
    if (!proofingSatisfies(request.proofing?.level, requirement.proofing))
      unmet.push(`proofing ${request.proofing?.level ?? 'none'} is below the required ${requirement.proofing}`);
    else if (request.proofing && r.verifiedAt !== undefined) {
      const verified = r.verifiedAt;
      if (verified > by + CLOCK_SKEW_MS)
        unmet.push(`proofing was done after the ${options.releaseAt === undefined ? 'change' : 'release'} (${request.proofing.verifiedAt})`);
      else if (requirement.ttlSeconds !== undefined && at - verified > requirement.ttlSeconds * 1000)
        unmet.push(`proofing older than ${formatDuration(requirement.ttlSeconds)} (verified ${request.proofing.verifiedAt})`);
    }
  }

  if (requirement.ticket) {
    const { system, states } = requirement.ticket;
    if (!request.ticket) unmet.push(`a ticket${system ? ` in ${system}` : ''} is required`);
    else {
      if (system && request.ticket.system !== system) unmet.push(`ticket ${request.ticket.id} is in ${request.ticket.system}, not ${system}`);
      if (states && !states.includes(request.ticket.state))
        unmet.push(`ticket ${request.ticket.id} is "${request.ticket.state}", not one of ${states.map((s) => `"${s}"`).join(', ')}`);
    }
  }

  if (requirement.approvals) {
    const have = qualifyingApprovers(requirement, request, change, options).length;
    const { count, from } = requirement.approvals;
    if (have < count) unmet.push(`${have} of ${count} required approval${count > 1 ? 's' : ''}${from.length ? ` from ${from.join(', ')}` : ''}`);
  }

  if (r.approvedAt !== undefined && r.approvedAt > by + CLOCK_SKEW_MS)
    unmet.push(
      options.releaseAt === undefined
        ? `request ${request.id} was approved after the change (${request.approvedAt}); an approval cannot cover a change made before it`
        : `request ${request.id} was approved after the release time (${request.approvedAt})`,
    );
  else if (requirement.ttlSeconds !== undefined) {
    if (r.approvedAt === undefined) unmet.push(`request ${request.id} has no approval time`);
    else if (at - r.approvedAt > requirement.ttlSeconds * 1000)
      unmet.push(`approval older than ${formatDuration(requirement.ttlSeconds)} (approved ${request.approvedAt})`);
  }

  return { met: unmet.length === 0, unmet };
}
