import { checkOcsfSinkUrl, streamOcsfOnce, type OcsfSinkTarget } from '../audit/ocsf/ocsf-sink.js';
import type { ResolvedTenant } from '../config/load-config.js';
import type { Clock } from '../core/clock.js';
import { parseDuration } from '../core/policy/duration.js';
import { BackgroundLoop } from '../runtime/background-loop.js';
import type { Store } from '../store/store.js';
import type { Logger } from '../runtime/logger.js';

/** The tenants' OCSF streams (`tenants[].siem.ocsf`), checked at start: a bad URL stops the start, naming the setting. */
export function ocsfSinkTargets(tenants: readonly ResolvedTenant[]): OcsfSinkTarget[] {
  const targets: OcsfSinkTarget[] = [];
  for (const t of tenants) {
    const sink = t.siem?.ocsf;
    if (!sink) continue;
    checkOcsfSinkUrl(t.id, sink.url);
    const secret = sink.secret ? t.secrets[sink.secret] : undefined;
    targets.push({
      tenant: t.id,
      url: sink.url,
      ...(secret ? { bearer: () => secret.reveal() } : {}),
      batchSize: sink.batchSize,
      timeoutMs: parseDuration(sink.timeout) * 1000,
    });
  }
  return targets;
}

/**
 * The loop that streams every configured tenant's decided changes and alerts
 * to its SIEM, each tenant under a store lease (one replica sends). A failing
 * endpoint is logged at each attempt and shown by `warden audit sink`.
 */
export function siemStreamLoop(deps: {
  store: Store;
  targets: readonly OcsfSinkTarget[];
  clock: Clock;
  instanceId: string;
  log: Logger;
  idleMs?: number;
}): BackgroundLoop {
  const { store, targets, clock, log } = deps;
  return new BackgroundLoop(
    async () => {
      let moved = 0;
      for (const target of targets) {
        if (!(await store.acquireLease(`siem.ocsf:${target.tenant}`, deps.instanceId, clock(), 60))) continue;
        moved += await streamOcsfOnce(store, target, clock(), (state) =>
          log.warn(
            { tenant: target.tenant, url: target.url, attempts: state.attempts, nextAttemptAt: state.nextAttemptAt, error: state.lastError },
            'SIEM endpoint (siem.ocsf) did not take the events; they are kept and sent again',
          ),
        );
      }
      return moved;
    },
    deps.idleMs ?? 5_000,
    (err) => log.error({ err }, 'SIEM stream failed'),
  );
}
