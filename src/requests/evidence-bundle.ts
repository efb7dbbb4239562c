import { hashRecordText } from '../audit/audit-log.js';
import type { Decision } from '../core/decision.js';
import type { IdentityChange } from '../core/identity-change.js';
import { WardenError } from '../core/errors.js';
import { authorizeCaller, type Caller } from './caller.js';
import type { RequestView, WorkflowContext } from './request-context.js';

/** Audit records read per bundle, at most. */
const MAX_RECORDS = 2000;

/** One audit record as the bundle carries it: verbatim, with its place in the chain. */
export interface BundledAuditRecord {
  seq: number;
  id: string;
  at: string;
  type: string;
  /** The canonical JSON that was hashed, exactly as stored. */
  record: string;
  prevHash: string;
  /** SHA-256 (hex) of `record`. */
  hash: string;
  /** Whether SHA-256 of `record` equals `hash` and the record names `prevHash`, checked when the bundle was made. */
  verifies: boolean;
}

/** Everything Warden knows about one change request, in one JSON document an auditor can keep and check. */
export interface EvidenceBundle {
  kind: 'warden.evidence-bundle';
  version: 1;
  tenant: string;
  generatedAt: string;
  /** The request with its evidence (proofing, ticket checks, attestations) and approvals. */
  request: RequestView;
  /** Its life: every audit record of type `request.*`, in order, as transitions. */
  transitions: Array<{ at: string; type: string; actor: unknown; seq: number }>;
  /** The proofing evidence (also inside `request.evidence`), for quick reading. */
  proofing: RequestView['evidence'];
  approvals: RequestView['approvals'];
  /** The observed change that used the request, and the decision on it, when there is one. */
  matched?: { change?: IdentityChange; decision?: Decision };
  /** The audit records about the request, its change and its decision, oldest first, with their chain digests. */
  audit: BundledAuditRecord[];
  /** The tenant's chain head when the bundle was made: compare with `warden audit verify` or a copy kept elsewhere. */
  chainHead: { seq: number; hash: string };
  /** How to check the bundle without Warden. */
  verification: string;
}

/**
 * A request's evidence bundle: the request, its transitions, proofing
 * evidence, approvals, the change it matched and the decision, and the audit
 * records with their chain digests (each record's SHA-256 over its
 * canonical JSON, and the previous record's hash it names). Auditors and
 * admins; API keys with `requests:read`.
 *
 * @throws WardenError `ERR_FORBIDDEN`, `ERR_NOT_FOUND`
 */
export async function evidenceBundle(ctx: WorkflowContext, tenant: string, id: string, caller: Caller): Promise<EvidenceBundle> {
  authorizeCaller(caller, tenant, { roles: ['auditor', 'admin'], scope: 'requests:read', what: 'an evidence bundle' });
  const request = await ctx.store.getRequest(tenant, id);
  if (!request) throw new WardenError('ERR_NOT_FOUND', `no change request ${id} in tenant ${tenant}`);
  const view = await ctx.store.transaction((tx) => ctx.view(tx, request));
  const consumed = request.consumed;
  const [change, decision, rows, head] = await Promise.all([
    consumed ? ctx.store.getChange(tenant, consumed.changeId) : undefined,
    consumed ? ctx.store.getDecision(tenant, consumed.decisionId) : undefined,
    ctx.store.auditAbout(tenant, { requestId: id, ...(consumed ? { decisionId: consumed.decisionId, changeId: consumed.changeId } : {}) }, MAX_RECORDS),
    ctx.store.auditHead(tenant),
  ]);
  const audit: BundledAuditRecord[] = rows.map((r) => {
    let prevNamed = false;
    try {
      prevNamed = (JSON.parse(r.record) as { prevHash?: unknown }).prevHash === r.prevHash;
    } catch {
      prevNamed = false;
    }
    return {
      seq: r.seq,
      id: r.id,
      at: r.at,
      type: r.type,
      record: r.record,
      prevHash: r.prevHash,
      hash: r.hash,
      verifies: prevNamed && hashRecordText(r.record) === r.hash,
    };
  });
  const transitions = audit
    .filter((a) => a.type.startsWith('request.'))
    .map((a) => ({ at: a.at, type: a.type, actor: (JSON.parse(a.record) as { actor?: unknown }).actor, seq: a.seq }));
  return {
    kind: 'warden.evidence-bundle',
    version: 1,
    tenant,
    generatedAt: ctx.now().toISOString(),
    request: view,
    transitions,
    proofing: view.evidence,
    approvals: view.approvals,
    ...(change || decision ? { matched: { ...(change ? { change } : {}), ...(decision ? { decision } : {}) } } : {}),
    audit,
    chainHead: head,
    verification:
      "For each audit record: SHA-256 (hex) of `record` (UTF-8, as is) equals `hash`, and `record`'s own `prevHash` field equals `prevHash`. " +
      'Records are not contiguous: to prove none was removed, verify the whole chain (`warden audit verify`) and find each `seq` and `hash` in it; `chainHead` is the head when the bundle was made.',
  };
}
