import { Counter } from 'prom-client';
import { appendAudit } from '../audit/audit-log.js';
import { ActionError, type Enforcer } from '../connector/contract.js';
import type { ActionRow, StoreTx } from '../store/store.js';
import { BatchWorker } from '../runtime/background-loop.js';
import { queueWorkerSettings, type QueueWorkerOptions, type QueueWorkerSettings } from './queue-worker.js';

export interface OutboxWorkerOptions extends QueueWorkerOptions {
  /** Enforcer per connector name. */
  enforcers: ReadonlyMap<string, Enforcer>;
  /** Jitter source (tests pin it). */
  random?: () => number;
}

/** The outbox's defaults: 20 actions a batch, each hidden 120 s while it runs, failed for good after 8 attempts. */
const OUTBOX_DEFAULTS = { batch: 20, leaseSeconds: 120, maxAttempts: 8 };

/** Delay before retry `attempt` (1-based): 2 s doubling to at most 10 min, ±20 % jitter so retries spread out. */
export function outboxBackoffMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(600_000, 2000 * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.8 + 0.4 * random()));
}

/** Actions that end the person's sessions: run after the decision's other actions, which stop a new sign-in. */
const ENDS_SESSIONS: ReadonlySet<string> = new Set(['revoke_sessions']);

/** The items for which `test` holds, then the rest, each in their order. */
function partition<T>(items: readonly T[], test: (item: T) => boolean): [T[], T[]] {
  const yes: T[] = [];
  const no: T[] = [];
  for (const item of items) (test(item) ? yes : no).push(item);
  return [yes, no];
}

/** The claimed actions by person (tenant, connector, target), then by decision, each in claim order. */
function byTargetThenDecision(actions: readonly ActionRow[]): Map<string, Map<string, ActionRow[]>> {
  const out = new Map<string, Map<string, ActionRow[]>>();
  for (const action of actions) {
    const target = `${action.tenant}\u0000${action.connector ?? ''}\u0000${action.targetId}`;
    let decisions = out.get(target);
    if (!decisions) out.set(target, (decisions = new Map()));
    const decision = action.decisionId ?? `action:${action.id}`;
    let together = decisions.get(decision);
    if (!together) decisions.set(decision, (together = []));
    together.push(action);
  }
  return out;
}

/**
 * Executes queued actions through the connector that owns each one, and
 * records every outcome in the audit log: executed, failed for good, or (in
 * monitor mode) recorded without acting. Retryable failures are retried with
 * backoff, never sooner than the connector's `retryAfterMs` (e.g. from a
 * vendor's rate-limit reset header). Replicas share the queue with
 * `FOR UPDATE SKIP LOCKED`; a worker that dies leaves its actions to be
 * claimed again when their lease runs out, which is why actions must be
 * idempotent.
 */
export class OutboxWorker extends BatchWorker {
  readonly #counter: Counter<'connector' | 'kind' | 'result'>;
  readonly #settings: QueueWorkerSettings;
  readonly #clock: () => Date;

  constructor(private readonly options: OutboxWorkerOptions) {
    const settings = queueWorkerSettings(options, OUTBOX_DEFAULTS);
    super(settings.idleMs, (err) => options.log.error({ err }, 'outbox worker failed'));
    this.#settings = settings;
    this.#clock = settings.clock;
    this.#counter = new Counter({
      name: 'warden_actions_total',
      help: 'Actions handled, by connector, kind and result (executed, dry_run, retried, failed)',
      labelNames: ['connector', 'kind', 'result'] as const,
      registers: settings.registers,
    });
  }

  /**
   * Claims and runs one batch; returns how many actions it took. The actions
   * of one decision (the policy's list for one change) run at once, but for
   * the session revocation, which waits for the others: a change is contained
   * after two round trips to the IdP, not one per action, and no session can
   * be opened after the revocation and before the hold. Actions on different people run at once too. Only
   * the actions on one person from different decisions (a hold, then its
   * release) keep the order they were claimed in. Each action still has its
   * own attempt, result and audit record.
   */
  async runOnce(): Promise<number> {
    const actions = await this.options.store.claimActions(this.#settings.batch, this.#clock(), this.#settings.leaseSeconds);
    await Promise.all(
      [...byTargetThenDecision(actions).values()].map(async (decisions) => {
        for (const together of decisions.values()) {
          // Sessions are ended only once the person can no longer get back in: a session opened between
          // the revocation and the hold (or suspension, or factor removal) would outlive both.
          const [first, last] = partition(together, (action) => !ENDS_SESSIONS.has(action.kind));
          await Promise.all(first.map((action) => this.#run(action)));
          await Promise.all(last.map((action) => this.#run(action)));
        }
      }),
    );
    return actions.length;
  }

  async #record(action: ActionRow, type: string, data: Record<string, unknown>, complete: (tx: StoreTx) => Promise<void>): Promise<void> {
    const now = this.#clock();
    await this.options.store.transaction(async (tx) => {
      await complete(tx);
      await appendAudit(tx, action.tenant, {
        type,
        actor: { type: 'system', id: `warden:${action.connector ?? 'none'}` },
        subject: { actionId: action.id, ...(action.decisionId ? { decisionId: action.decisionId } : {}) },
        data: { kind: action.kind, targetId: action.targetId, connector: action.connector ?? null, attempts: action.attempts, ...data },
        at: now,
      });
    });
  }

  async #run(action: ActionRow): Promise<void> {
    const { log } = this.options;
    const connector = action.connector ?? 'none';
    const count = (result: string) => this.#counter.inc({ connector, kind: action.kind, result });
    if (action.dryRun) {
      await this.#record(action, 'action.dry_run', { mode: 'monitor' }, (tx) => tx.completeAction(action.id, this.#clock(), { dryRun: true }));
      count('dry_run');
      return;
    }
    const enforcer = action.connector ? this.options.enforcers.get(action.connector) : undefined;
    if (!enforcer) {
      const error = `no connector executes actions for "${connector}"`;
      await this.#record(action, 'action.failed', { error }, (tx) => tx.failAction(action.id, this.#clock(), error, null));
      count('failed');
      log.error({ actionId: action.id, connector, kind: action.kind }, error);
      return;
    }
    try {
      const result = await enforcer.execute(action, this.options.context());
      await this.#record(action, 'action.executed', { result: result ?? null }, (tx) => tx.completeAction(action.id, this.#clock(), result ?? null));
      count('executed');
    } catch (err) {
      const message = (err as Error).message ?? String(err);
      const permanent = err instanceof ActionError && err.permanent;
      if (permanent || action.attempts >= this.#settings.maxAttempts) {
        await this.#record(action, 'action.failed', { error: message }, (tx) => tx.failAction(action.id, this.#clock(), message, null));
        count('failed');
        log.error({ err, actionId: action.id, connector, kind: action.kind, targetId: action.targetId, attempts: action.attempts }, 'action failed for good');
        return;
      }
      const backoff = outboxBackoffMs(action.attempts, this.options.random);
      const wait = Math.max(backoff, err instanceof ActionError ? (err.retryAfterMs ?? 0) : 0);
      await this.options.store.failAction(action.id, this.#clock(), message, new Date(this.#clock().getTime() + wait));
      count('retried');
      log.warn({ err, actionId: action.id, connector, kind: action.kind, attempts: action.attempts, retryInMs: wait }, 'action will be retried');
    }
  }
}
