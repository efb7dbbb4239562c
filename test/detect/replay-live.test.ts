import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { okta } from '../../connectors/okta/index.js';
import { runCli } from '../../src/app/cli-main.js';
import type { Alert } from '../../src/core/alert.js';
import { uuidv7 } from '../../src/core/ids.js';
import type { Connector } from '../../src/connector/contract.js';

/**
 * `warden detect replay` as the live path sees things: several files merged
 * by event time (one per source), every record moving its source's event
 * time (a sign-in closes an absence window), the normalized changes printed
 * with `--changes`, and alerts in `--json` carrying the vendor ids.
 */

async function warden(args: string[], connectors: Connector[] = []) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, { out: (s) => void out.push(s), err: (s) => void err.push(s) }, connectors);
  return { code, out: out.join(''), err: err.join('') };
}

const dir = mkdtempSync(path.join(tmpdir(), 'warden-replay-live-'));
const T0 = Date.parse('2026-03-02T09:00:00Z');
const iso = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

function change(kind: string, minutes: number, channel: string, idp: string, eventId: string, target = 'dana.lee@acme.example', actor = target) {
  return {
    id: uuidv7(T0 + minutes * 60_000),
    tenant: 'acme',
    source: { idp, eventIds: [eventId], rawType: kind, via: 'poll' },
    kind,
    channel,
    target: { id: `${idp}-${target}`, login: target },
    actor: { id: `${idp}-${actor}`, login: actor },
    occurredAt: iso(minutes),
    observedAt: iso(minutes + 1),
  };
}

function file(name: string, records: readonly unknown[]): string {
  const f = path.join(dir, name);
  writeFileSync(f, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return f;
}

/** Okta's own user.session.start LogEvent (test/fixtures/okta, from Okta's event hook docs), at another time. */
function signIn(minutes: number, uuid: string): unknown {
  const delivery = JSON.parse(readFileSync(path.join(import.meta.dirname, '../fixtures/okta/event-hook-delivery-user-session-start.json'), 'utf8')) as {
    data: { events: Array<Record<string, unknown>> };
  };
  return { ...delivery.data.events[0]!, uuid, published: iso(minutes) };
}

describe('warden detect replay, as live', () => {
  it('merges several files by event time: a source exported after another is not late', async () => {
    const oktaFile = file('okta.ndjson', [
      change('factor.reset_all', 0, 'helpdesk', 'okta', 'o-1', 'dana.lee@acme.example', 'sam@acme.example'),
      change('factor.enroll', 10, 'self_service', 'okta', 'o-2'),
    ]);
    // Entra's export runs to hours later than Okta's.
    const entraFile = file('entra.ndjson', [
      change('password.reset', 20, 'self_service', 'entra', 'e-1'),
      change('password.change', 300, 'self_service', 'entra', 'e-2', 'zed@acme.example'),
    ]);
    for (const order of [
      [entraFile, oktaFile],
      [oktaFile, entraFile],
    ]) {
      const r = await warden(['detect', 'replay', '--json', ...order]);
      expect(r.err).not.toContain('too late');
      const alerts = JSON.parse(r.out) as Alert[];
      expect(
        alerts
          .find((a) => a.key === 'dana.lee@acme.example')
          ?.matches.map((m) => m.rule)
          .sort(),
      ).toEqual(['assisted-reset-without-request', 'factor-change-and-password-reset']);
    }
  });

  it('moves event time on records that are not changes: a later sign-in lets the absence window pass', async () => {
    const removed = change('factor.remove', 0, 'self_service', 'okta', 'o-9', 'lee@acme.example');
    const alone = await warden(['detect', 'replay', file('removed.ndjson', [removed])], [okta]);
    expect(alone.err).toContain('1 absence check still open');
    const r = await warden(
      ['detect', 'replay', '--json', file('removed-then-sign-in.ndjson', [removed, signIn(13 * 60, 'f1d0b993-0000-11ed-a688-db22c99ef6c4')])],
      [okta],
    );
    expect(r.err).toContain('1 not governed (ignored by okta)');
    expect((JSON.parse(r.out) as Alert[]).map((a) => [a.rule, a.key])).toEqual([['factor-removed-not-reenrolled', 'lee@acme.example']]);
  });

  it('prints the normalized changes as NDJSON with --changes', async () => {
    const f = file('changes.ndjson', [
      change('factor.reset_all', 0, 'helpdesk', 'okta', 'o-1', 'dana.lee@acme.example', 'sam@acme.example'),
      change('password.reset', 5, 'self_service', 'entra', 'e-1'),
    ]);
    const r = await warden(['detect', 'replay', '--changes', f]);
    expect(r.code).toBe(0);
    const lines = r.out
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toEqual([
      {
        id: expect.any(String),
        kind: 'factor.reset_all',
        channel: 'helpdesk',
        target: { id: 'okta-dana.lee@acme.example', login: 'dana.lee@acme.example' },
        actor: { id: 'okta-sam@acme.example', login: 'sam@acme.example' },
        source: { idp: 'okta', via: 'poll', rawType: 'factor.reset_all' },
        occurredAt: iso(0),
        eventIds: ['o-1'],
      },
      {
        id: expect.any(String),
        kind: 'password.reset',
        channel: 'self_service',
        target: { id: 'entra-dana.lee@acme.example', login: 'dana.lee@acme.example' },
        actor: { id: 'entra-dana.lee@acme.example', login: 'dana.lee@acme.example' },
        source: { idp: 'entra', via: 'poll', rawType: 'password.reset' },
        occurredAt: iso(5),
        eventIds: ['e-1'],
      },
    ]);
    expect(r.err).toContain('1 alert (not printed with --changes)');
  });

  it('gives each alert in --json the vendor ids of the person and of each change', async () => {
    const f = file('ids.ndjson', [change('factor.enroll', 0, 'self_service', 'okta', 'o-5'), change('password.reset', 5, 'self_service', 'entra', 'e-5')]);
    const [alert] = JSON.parse((await warden(['detect', 'replay', '--json', f])).out) as Array<
      Alert & { person: { key: string; ids: Array<{ idp: string; id: string }> } }
    >;
    expect(alert!.person).toEqual({
      key: 'dana.lee@acme.example',
      ids: [
        { idp: 'okta', id: 'okta-dana.lee@acme.example' },
        { idp: 'entra', id: 'entra-dana.lee@acme.example' },
      ],
    });
    expect(alert!.changes.map((c) => [c.idp, c.eventIds, c.targetId])).toEqual([
      ['okta', ['o-5'], 'okta-dana.lee@acme.example'],
      ['entra', ['e-5'], 'entra-dana.lee@acme.example'],
    ]);
  });
});
