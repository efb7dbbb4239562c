import { appendAudit } from '../audit/audit-log.js';
import type { WardenConfig } from '../config/load-config.js';
import type { Approval, ChangeRequest, Evidence, RequestBrokerRun, RequestSnapshot, RequestState, Review, WorkflowActor } from '../core/change-request.js';
import { WardenError } from '../core/errors.js';
import type { ChangeDetection, PolicySource } from '../engine/decide-change.js';
import { publishEvent, type EventRoutes } from '../notify/publish-event.js';
import type { Broker, Directory, IdentityProofer, ConnectorContext, TicketLookup, TicketSystemName, Connector } from '../connector/contract.js';
import type { BrokerRun, Store, StoreTx } from '../store/store.js';
import { bestEvidence, meetsNeed } from './proofing-requirements.js';
import { releaseCoveredHold } from './release-covered-hold.js';
import { assertTransition, FINAL_STATES } from './request-states.js';
import { settingsOf, tenantOf, type WorkflowSettings } from './request-settings.js';

/** The connector ports the workflow uses, per tenant (a connector serves a tenant when the tenant has its config section). */
export interface WorkflowPorts {
  directory(tenant: string): Directory | undefined;
  proofer(tenant: string, method: string): IdentityProofer | undefined;
  broker(tenant: string, kind: string): Broker | undefined;
  tickets(tenant: string, system: TicketSystemName): TicketLookup | undefined;
}

/** Ports from the connectors: the first connector configured for the tenant that offers each. */
export function portsFromConnectors(connectors: readonly Connector[], config: Pick<WardenConfig, 'tenants'>): WorkflowPorts {
  const serving = (tenant: string) => {
    const t = config.tenants.find((x) => x.id === tenant);
    return connectors.filter((p) => t?.connectors[p.name] !== undefined);
  };
  return {
    directory: (tenant) => serving(tenant).find((p) => p.directory)?.directory,
    proofer: (tenant, method) => serving(tenant).find((p) => p.proofer?.methods.includes(method))?.proofer,
    broker: (tenant, kind) => serving(tenant).find((p) => p.broker?.kinds.includes(kind as never))?.broker,
    tickets: (tenant, system) => serving(tenant).find((p) => p.tickets?.systems.includes(system))?.tickets,
  };
}

/** Counters the workflow reports (the server passes prometheus ones). */
export interface WorkflowMetrics {
  transition(tenant: string, to: RequestState): void;
  breakGlass(tenant: string): void;
}

/** What every workflow operation needs. */
export interface WorkflowDeps {
  store: Store;
  policies: PolicySource;
  config: Pick<WardenConfig, 'tenants'>;
  routes: EventRoutes;
  ports: WorkflowPorts;
  /** What connectors get when the workflow calls their ports. */
  connectorContext: () => ConnectorContext;
  clock: () => Date;
  metrics?: WorkflowMetrics;
  /** Detection's open alerts (the server's StoreDetector): filing and approving say when one would hold the request's change (`needs.heldBy`). */
  detection?: Pick<ChangeDetection, 'alertsFor'>;
  /** Told after a workflow transaction commits: it may have queued outbound events, or IdP actions (a released hold's undo). */
  onPublished?: () => void;
}

/** Called inside an operation's final transaction with its response: stores it for Idempotency-Key retries. */
export type OnCommit = (tx: StoreTx, status: number, body: unknown) => Promise<void>;

/** A request as the API shows it: the record with its evidence, approvals, review and, in broker mode, its run. */
export interface RequestView extends ChangeRequest {
  evidence: Evidence[];
  approvals: Approval[];
  review?: Review;
  /** Derived from the run's one record (Warden's own change `broker:<requestId>`), never kept with the request. */
  brokered?: RequestBrokerRun;
}

/** What a request shows about its broker run: the run's record, read. */
export function brokerRunView(run: BrokerRun): RequestBrokerRun {
  if (run.state === 'started') return { state: 'started', at: run.startedAt.toISOString() };
  return {
    state: 'done',
    at: (run.finishedAt ?? run.startedAt).toISOString(),
    ...(run.reference !== undefined ? { reference: run.reference } : {}),
    ...(run.expiresAt ? { expiresAt: run.expiresAt.toISOString() } : {}),
  };
}

/** The workflow's shared steps: settings, audit-and-publish, transitions, advancing, views. */
export class WorkflowContext {
  constructor(readonly deps: WorkflowDeps) {}

  get store(): Store {
    return this.deps.store;
  }

  now(): Date {
    return this.deps.clock();
  }

  settings(tenant: string): WorkflowSettings {
    return settingsOf(tenantOf(this.deps.config, tenant));
  }

  /** Runs `fn` in a transaction and wakes the webhook worker once it commits. */
  async transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    const result = await this.store.transaction(fn);
    this.deps.onPublished?.();
    return result;
  }

  /** A request, locked for the transaction. @throws WardenError `ERR_NOT_FOUND` */
  async load(tx: StoreTx, tenant: string, id: string): Promise<ChangeRequest> {
    const request = await tx.getRequest(tenant, id, { lock: true });
    if (!request) throw new WardenError('ERR_NOT_FOUND', `no change request ${id} in tenant ${tenant}`);
    return request;
  }

  /**
   * Records a workflow event: an audit record (in the transaction) and the
   * same event published as a signed webhook.
   */
  async note(
    tx: StoreTx,
    request: ChangeRequest,
    type: string,
    actor: WorkflowActor,
    data: Record<string, unknown>,
    at: Date,
    subject: Record<string, string> = {},
  ): Promise<void> {
    await appendAudit(tx, request.tenant, { type, actor, subject: { requestId: request.id, ...subject }, data, at });
    await publishEvent(tx, this.deps.routes, {
      tenant: request.tenant,
      type,
      data: {
        request: {
          id: request.id,
          state: request.state,
          kind: request.kind,
          target: { id: request.target.id, ...(request.target.login ? { login: request.target.login } : {}) },
          requester: { id: request.requester.id },
          executor: { id: request.executor.id },
          breakGlass: request.breakGlass !== undefined,
          expiresAt: request.expiresAt,
          // What a chat or e-mail message shows: the target's tier and the rules that asked for the request.
          ...(request.needs.tier ? { tier: request.needs.tier } : {}),
          rules: request.needs.rules,
          changeChannel: request.changeChannel,
        },
        actor,
        ...data,
      },
      at,
    });
  }

  /** Moves a request to `to`: checked against the life cycle, stored, audited and published. */
  async transition(
    tx: StoreTx,
    request: ChangeRequest,
    to: RequestState,
    actor: WorkflowActor,
    reason: string,
    at: Date,
    patch: Partial<ChangeRequest> = {},
  ): Promise<ChangeRequest> {
    assertTransition(request, to);
    const next: ChangeRequest = { ...request, ...patch, state: to, updatedAt: at.toISOString() };
    if (FINAL_STATES.includes(to) && to !== 'reviewed') next.closed = { reason, by: actor };
    await tx.updateRequest(next);
    await this.note(tx, next, `request.${to}`, actor, { from: request.state, reason }, at);
    this.deps.metrics?.transition(request.tenant, to);
    return next;
  }

  /**
   * Moves a request forward as far as what it has allows: draft → proofing
   * once its ticket is valid (or none is needed), proofing →
   * pending_approval once its evidence meets the level, pending_approval →
   * approved once enough approvers agreed (the ttl starts then); an approved
   * request that covers a change held before its approval releases that hold
   * and is used up by it (`executed`, see release-covered-hold.ts).
   */
  async advance(tx: StoreTx, request: ChangeRequest, actor: WorkflowActor, at: Date): Promise<ChangeRequest> {
    let r = request;
    for (;;) {
      if (r.state === 'draft') {
        const ticketOk = r.ticket ? r.ticket.valid : !r.needs.ticket;
        if (!ticketOk) return r;
        r = await this.transition(tx, r, 'proofing', actor, r.ticket ? `ticket ${r.ticket.id} checked` : 'no ticket needed', at);
      } else if (r.state === 'proofing') {
        const best = bestEvidence(await tx.listEvidence(r.tenant, r.id), at);
        if (!meetsNeed(best, r.needs.proofing)) return r;
        const proofing = best ? { level: best.level!, method: best.method, verifiedAt: best.verifiedAt, evidenceId: best.id } : undefined;
        r = await this.transition(
          tx,
          r,
          'pending_approval',
          actor,
          best ? `proofed by ${best.method} (${best.level})` : 'no proofing needed',
          at,
          proofing ? { proofing } : {},
        );
      } else if (r.state === 'pending_approval') {
        const approvals = (await tx.listApprovals(r.tenant, r.id)).filter((a) => a.verdict === 'approve');
        const need = r.needs.approvals?.count ?? 0;
        if (approvals.length < need) return r;
        r = await this.transition(tx, r, 'approved', actor, need === 0 ? 'no approval needed' : `${approvals.length} of ${need} approvals`, at, {
          approvedAt: at.toISOString(),
          expiresAt: new Date(at.getTime() + r.needs.ttlSeconds * 1000).toISOString(),
        });
        // The executor may have acted before the approval and been held: the approval releases that hold and is used up by it.
        r = await releaseCoveredHold(this, tx, r, actor, at);
      } else return r;
    }
  }

  /** The API view of a request. */
  async view(tx: StoreTx, request: ChangeRequest): Promise<RequestView> {
    const [evidence, approvals] = await Promise.all([tx.listEvidence(request.tenant, request.id), tx.listApprovals(request.tenant, request.id)]);
    const review = request.breakGlass ? await tx.getReview(request.tenant, request.breakGlass.reviewId) : undefined;
    const run = request.broker ? await tx.getBrokerRun(request.tenant, request.id) : undefined;
    return { ...request, evidence, approvals, ...(review ? { review } : {}), ...(run ? { brokered: brokerRunView(run) } : {}) };
  }

  /** Identities that may perform the change for the request's executor: Warden's broker for brokered requests, mapped integration accounts otherwise. */
  serviceIdentitiesFor(request: Pick<ChangeRequest, 'tenant' | 'broker' | 'executor' | 'people'>): string[] {
    const s = this.settings(request.tenant);
    if (request.broker) return [...s.brokerIdentities];
    const executorNames = new Set(
      [request.people?.executor, request.executor.id, request.executor.login, request.executor.email]
        .filter((n): n is string => !!n)
        .map((n) => n.toLowerCase()),
    );
    return s.serviceIdentities.filter((m) => m.executors.some((e) => e === '*' || executorNames.has(e.toLowerCase()))).map((m) => m.actor);
  }

  /** What the policy core judges of a request (src/core/change-request.ts). */
  snapshot(request: ChangeRequest, approvals: readonly Approval[]): RequestSnapshot {
    return {
      id: request.id,
      tenant: request.tenant,
      state: request.state,
      kind: request.kind,
      targetId: request.target.id,
      // The IdP user ids the parties resolved to when the request was filed (the ids the IdP's events name).
      requesterId: request.people?.requester ?? request.requester.id,
      executorId: request.people?.executor ?? request.executor.id,
      ...(request.proofing ? { proofing: { level: request.proofing.level, method: request.proofing.method, verifiedAt: request.proofing.verifiedAt } } : {}),
      ...(request.ticket?.valid && request.ticket.state !== undefined
        ? { ticket: { system: request.ticket.system, id: request.ticket.id, state: request.ticket.state } }
        : {}),
      approvals: approvals.filter((a) => a.verdict === 'approve').map((a) => ({ approverId: a.approverId, groups: a.groups, roles: a.roles, at: a.at })),
      ...(request.approvedAt ? { approvedAt: request.approvedAt } : {}),
      expiresAt: request.expiresAt,
      ...(request.consumed ? { consumedAt: request.consumed.at } : {}),
      ...(request.breakGlass ? { breakGlass: { reason: request.breakGlass.reason } } : {}),
      serviceIdentities: this.serviceIdentitiesFor(request),
    };
  }

  /**
   * Wraps a connector failure as ERR_UPSTREAM saying what was being done:
   * anything a connector throws that is not a WardenError, and its failed IdP
   * calls (`ERR_UPSTREAM`, e.g. `ActionError`). Other WardenErrors (not
   * found, conflict, validation) stay as they are.
   */
  upstream(what: string, err: unknown): WardenError {
    if (err instanceof WardenError && err.code !== 'ERR_UPSTREAM') return err;
    return new WardenError('ERR_UPSTREAM', `${what}: ${(err as Error).message ?? String(err)}`, { cause: err });
  }
}
