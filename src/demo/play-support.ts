import { systemClock, type Clock } from '../core/clock.js';
import { WardenError } from '../core/errors.js';
import type { AuditEntry, DemoControl, DemoInfo } from './demo-control.js';
import type { ActRequest, ActResult } from '../connector/demo-kit.js';
import { signInPersona } from './sign-in.js';
import { DEMO_PASSWORD } from './personas.js';

/** How long a play waits for something to happen before it gives up (Warden and the simulators answer in well under a second on an idle machine). */
const WAIT_MS = 120_000;

/** A decision as the audit log records it (`decision.recorded`). */
export interface RecordedDecision {
  decisionId: string;
  changeId: string;
  requestId?: string;
  outcome: string;
  rules: Array<{ id: string; outcome?: string; reason?: string; requestId?: string }>;
  actions: Array<{ kind: string; connector?: string; dryRun?: boolean }>;
  alerts: Array<{ id: string; severity: string }>;
  change: { kind: string; channel: string; occurredAt: string; source: { idp: string; eventIds: string[] } };
}

/** What a play is given: the running demo, where to write. */
export class Play {
  #step = 0;
  #after = 0;

  constructor(
    readonly control: DemoControl,
    readonly info: DemoInfo,
    private readonly out: (text: string) => void,
    /** The demo's clock (the one the demo and its simulators run on). */
    readonly clock: Clock = systemClock,
  ) {}

  /** Prints a numbered step of the timeline. */
  step(text: string): void {
    this.#step++;
    this.out(`\n${String(this.#step).padStart(2)}. ${text}\n`);
  }

  /** Prints an indented line under the current step. */
  say(text: string): void {
    this.out(`      ${text}\n`);
  }

  /** Someone acts inside an IdP. */
  async act(req: ActRequest): Promise<ActResult> {
    const result = await this.control.act(req);
    this.say(`${req.idp === 'okta' ? 'Okta' : 'Microsoft 365'}: ${result.said}${result.recordedIn ? ` [${result.recordedIn}]` : ''}`);
    return result;
  }

  /** Awaits `check` until it answers something, re-checking as things happen, for at most two minutes. */
  async until<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
    const deadline = performance.now() + WAIT_MS;
    for (;;) {
      const found = await check();
      if (found !== undefined) return found;
      if (performance.now() > deadline) throw new WardenError('ERR_UPSTREAM', `waited two minutes for ${what}; it did not happen (is the demo still running?)`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** The audit log since the play started (or since `after`). */
  async audit(): Promise<AuditEntry[]> {
    return this.control.audit(this.#after);
  }

  /** Remembers where the audit log ends, so the play reads only its own records. */
  async mark(): Promise<void> {
    const all = await this.control.audit(0);
    this.#after = all.at(-1)?.seq ?? 0;
  }

  /** Warden's decision on the change the IdP recorded as `eventId`, once it is made. */
  decisionOn(eventId: string): Promise<RecordedDecision> {
    return this.until(`Warden's decision on ${eventId}`, async () => {
      const record = (await this.audit()).find(
        (r) => r.type === 'decision.recorded' && (r.data.change?.source?.eventIds as string[] | undefined)?.includes(eventId),
      );
      return record
        ? ({
            ...(record.data as Omit<RecordedDecision, 'decisionId' | 'changeId'>),
            decisionId: record.subject.decisionId!,
            changeId: record.subject.changeId!,
            ...(record.subject.requestId ? { requestId: record.subject.requestId } : {}),
          } as RecordedDecision)
        : undefined;
    });
  }

  /** Prints a decision the way Warden explains it. */
  sayDecision(d: RecordedDecision): void {
    const rule = d.rules[0];
    this.say(
      `Warden: ${d.outcome.toUpperCase()} the ${d.change.kind} (${d.change.channel}, from ${d.change.source.idp})${rule ? `, rule ${rule.id}${rule.reason ? `: ${rule.reason}` : ''}` : ''}`,
    );
    if (d.alerts?.length) this.say(`        open alerts on the person: ${d.alerts.map((a) => `${a.id} (${a.severity})`).join(', ')}`);
    const actions = d.actions.filter((a) => !a.dryRun);
    if (actions.length) this.say(`        containment queued: ${actions.map((a) => `${a.kind}${a.connector ? ` in ${a.connector}` : ''}`).join(', ')}`);
  }

  /** Calls Warden's API. */
  // biome-ignore lint/suspicious/noExplicitAny: Warden's API answers, JSON read by the plays and narrowed where used
  async warden(method: string, route: string, options: { token?: string; body?: unknown } = {}): Promise<{ status: number; body: any }> {
    const res = await fetch(`${this.info.warden}${route}`, {
      method,
      headers: { authorization: `Bearer ${options.token ?? this.info.apiKey}`, ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  /** A persona signs in at the development OIDC provider; their ID token is what they send Warden. */
  signIn(handle: string): Promise<string> {
    const p = this.persona(handle);
    return signInPersona({
      issuer: this.info.oidc.issuer,
      clientId: this.info.oidc.clientId,
      redirectUri: this.info.oidc.redirectUri,
      login: p.login,
      password: DEMO_PASSWORD,
    });
  }

  persona(handle: string): DemoInfo['personas'][number] {
    const p = this.info.personas.find((x) => x.handle === handle);
    if (!p) throw new WardenError('ERR_VALIDATION', `no persona ${handle}`);
    return p;
  }
}
