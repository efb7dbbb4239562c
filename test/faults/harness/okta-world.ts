import path from 'node:path';
import { OktaSimulator, type LogEventSim, type OktaSimulatorOptions, type SimUser } from '../../../connectors/okta/simulator/okta-simulator.js';
import type { AuditRecord, FaultStore } from './fault-store.js';
import { StallingProxy } from './stalling-proxy.js';
import type { SuiteClock } from './suite-clock.js';
import { runWardenCli, WardenProcess, freePort } from './warden-process.js';

export const TENANT = 'acme';
export const HOOK_SECRET = 'fault-suite-hook-secret-0123456789';
export const HOOK_PATH = `/hooks/okta/${TENANT}/events`;

/**
 * An Okta org (the simulator, on the suite clock) behind a stalling proxy,
 * and the warden.yaml of a tenant that enforces the example policy on it.
 * The System Log poller is off unless asked for: hook deliveries are then
 * the only way events reach Warden, so what is lost is visible.
 */
export class OktaWorld {
  readonly sim: OktaSimulator;
  readonly proxy: StallingProxy;
  agent!: SimUser;
  readonly configFile: string;

  private constructor(
    sim: OktaSimulator,
    proxy: StallingProxy,
    readonly store: FaultStore,
    private readonly options: { poller: boolean; retries?: { inbox?: number; outbox?: number } },
  ) {
    this.sim = sim;
    this.proxy = proxy;
    this.configFile = this.#writeConfig(proxy.url, 'warden.yaml');
  }

  #writeConfig(orgUrl: string, fileName: string): string {
    return this.store.writeConfig(
      [
        {
          id: TENANT,
          yaml:
            `    secrets:\n      oktaToken: { env: OKTA_TOKEN_FAULTS }\n      oktaHook: { env: OKTA_HOOK_SECRET }\n` +
            `    okta:\n      orgUrl: ${orgUrl}\n      simulator: true\n      auth: { type: api_token, token: oktaToken }\n      eventHook: { secret: oktaHook }\n` +
            `      poller: { enabled: ${this.options.poller}, intervalSeconds: 5 }\n`,
        },
      ],
      fileName,
      this.options.retries
        ? `retries: { ${Object.entries(this.options.retries)
            .map(([k, v]) => `${k}: ${v}`)
            .join(', ')} }\n`
        : '',
    );
  }

  /**
   * A replica with its own way to the org (its own proxy in front of the
   * simulator, so the org's requests can be told apart by replica); same
   * store, same tenant, same settings otherwise.
   */
  async replica(name: string): Promise<{ warden: WardenProcess; proxy: StallingProxy }> {
    const proxy = await new StallingProxy(this.sim.url).start();
    this.#replicaProxies.push(proxy);
    const configFile = this.#writeConfig(proxy.url, `${name}.yaml`);
    return { warden: new WardenProcess(name, configFile, await freePort(), {}, path.join(this.store.dir, `${name}.log`)), proxy };
  }

  readonly #replicaProxies: StallingProxy[] = [];

  /**
   * `retries` goes to warden.yaml (attempts before the workers give up);
   * `rateLimits` to the simulator (per-minute bucket ceilings).
   */
  static async create(
    store: FaultStore,
    clock: SuiteClock,
    options: { poller?: boolean; retries?: { inbox?: number; outbox?: number }; rateLimits?: OktaSimulatorOptions['rateLimits'] } = {},
  ): Promise<OktaWorld> {
    const sim = await new OktaSimulator({ clock: clock.now, ...(options.rateLimits ? { rateLimits: options.rateLimits } : {}) }).start();
    const proxy = await new StallingProxy(sim.url).start();
    const world = new OktaWorld(sim, proxy, store, { poller: options.poller ?? false, ...(options.retries ? { retries: options.retries } : {}) });
    sim.addGroup('Warden Hold');
    world.agent = sim.addUser({ login: 'agent@acme.example', firstName: 'Hal', lastName: 'Desk' }, { roles: ['HELP_DESK_ADMIN'], groups: ['Service Desk'] });
    return world;
  }

  /** Environment of a Warden process of this world. */
  env(clock: SuiteClock): NodeJS.ProcessEnv {
    return { OKTA_TOKEN_FAULTS: this.sim.token, OKTA_HOOK_SECRET: HOOK_SECRET, ...this.store.env(), ...clock.env() };
  }

  /** A `warden serve` of this world on a free port (not started). */
  async warden(name: string): Promise<WardenProcess> {
    return new WardenProcess(name, this.configFile, await freePort(), {}, path.join(this.store.dir, `${name}.log`));
  }

  /** A standard employee. */
  employee(i: number): SimUser {
    return this.sim.addUser({ login: `user${i}@acme.example`, firstName: `User${i}`, lastName: 'Employee', department: 'Sales' }, { groups: ['Everyone'] });
  }

  /** The help desk resets all of the user's factors with no approved request: the policy holds it (hold group, sessions, new factors). */
  helpDeskReset(user: SimUser): LogEventSim {
    return this.sim.adminResetFactors(this.agent.id, user.id);
  }

  /** The user resets their own password (self-service): allowed, no action. */
  selfPasswordReset(user: SimUser): LogEventSim {
    return this.sim.resetPassword(user.id, user.id);
  }

  /** Simulator log events Warden's hold_group calls caused (a membership added), per user. */
  holdGroupAdds(): Map<string, number> {
    const holdGroup = [...this.sim.groups.values()].find((g) => g.profile.name === 'Warden Hold')!.id;
    const adds = new Map<string, number>();
    for (const e of this.sim.log) {
      if (e.eventType !== 'group.user_membership.add') continue;
      const targets = e.target as Array<{ id: string; type: string }>;
      if (!targets.some((t) => t.id === holdGroup)) continue;
      const user = targets.find((t) => t.type === 'User')!.id;
      adds.set(user, (adds.get(user) ?? 0) + 1);
    }
    return adds;
  }

  /** Mutating calls the IdP received, per `METHOD path`. */
  mutatingCalls(): Map<string, number> {
    const calls = new Map<string, number>();
    for (const r of this.sim.requests) if (r.method !== 'GET') calls.set(`${r.method} ${r.path}`, (calls.get(`${r.method} ${r.path}`) ?? 0) + 1);
    return calls;
  }

  /** `warden audit verify` as its own process (through the admin socket when the server runs). */
  async auditVerify(clock: SuiteClock): Promise<{ ok: boolean; out: string }> {
    const { code, out } = await runWardenCli(['audit', 'verify', '--config', this.configFile, '--tenant', TENANT], {
      env: this.env(clock),
      logFile: path.join(this.store.dir, 'audit-verify.log'),
      timeoutMs: 120_000,
    });
    return { ok: code === 0 && /ok, \d+ records?/.test(out), out };
  }

  /** A `warden` command of this world run to completion (its own process; through the admin socket while a server runs on PGlite). */
  async cli(args: string[], clock: SuiteClock, logName = 'cli'): Promise<{ code: number | null; stdout: string; out: string }> {
    return runWardenCli([...args, '--config', this.configFile], {
      env: this.env(clock),
      logFile: path.join(this.store.dir, `${logName}.log`),
      timeoutMs: 120_000,
    });
  }

  async close(): Promise<void> {
    for (const p of this.#replicaProxies) await p.close();
    await this.proxy.close();
    await this.sim.close();
  }
}

/** What the audit log says about decisions and actions. */
export interface AuditTally {
  /** decision.recorded records per vendor event id. */
  decisionsPerEvent: Map<string, number>;
  /** Actions the decisions asked for (not dry runs), as `targetId kind decisionId`. */
  expectedActions: string[];
  /** action.executed / action.failed records per `targetId kind decisionId`. */
  executed: Map<string, number>;
  failed: Map<string, number>;
}

/** Counts decisions per vendor event and actions per decision from a tenant's audit records. */
export function tallyAudit(records: readonly AuditRecord[]): AuditTally {
  const decisionsPerEvent = new Map<string, number>();
  const expectedActions: string[] = [];
  const executed = new Map<string, number>();
  const failed = new Map<string, number>();
  for (const r of records) {
    if (r.type === 'decision.recorded') {
      const change = r.data.change as { targetId: string; source: { eventIds: string[] } };
      for (const id of change.source.eventIds) decisionsPerEvent.set(id, (decisionsPerEvent.get(id) ?? 0) + 1);
      for (const a of r.data.actions as Array<{ kind: string; dryRun: boolean; targetId?: string }>)
        if (!a.dryRun) expectedActions.push(`${a.targetId ?? change.targetId} ${a.kind} ${r.subject.decisionId}`);
    }
    if (r.type === 'action.executed' || r.type === 'action.failed') {
      const key = `${r.data.targetId as string} ${r.data.kind as string} ${r.subject.decisionId}`;
      const map = r.type === 'action.executed' ? executed : failed;
      map.set(key, (map.get(key) ?? 0) + 1);
    }
  }
  return { decisionsPerEvent, expectedActions, executed, failed };
}
