/**
 * Differential check of the native expression forms (`compileNative`, used by
 * evaluatePolicy) against the cel-js interpreter: random policy expressions
 * (each must pass the policy type check, as in a policy file) evaluated on
 * random activations, many of them malformed on purpose (missing fields,
 * nulls, numbers where strings belong, odd objects, bad timestamps). Whenever
 * the native form answers, cel-js must give the same boolean; when cel-js
 * errs or returns a non-boolean, the native form must abstain.
 *
 * Used by src/core/policy/native-cel.test.ts (CI) and by
 * bench/native-cel-differential.ts (longer runs).
 */
import { compileNative } from '../../src/core/policy/analyze-expression.js';
import { checkEnvironment, evaluationEnvironment } from '../../src/core/policy/cel-environment.js';
import { prng } from '../../bench/support.js';

export interface DifferentialResult {
  expressions: number;
  cases: number;
  decided: number;
  mismatches: number;
  examples: string[];
}

export function runCelDifferential(seed: number, count: number): DifferentialResult {
  const random = prng(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

  const STRINGS = ['"a"', '"helpdesk"', '"factor.enroll"', '"standard"', '"user"', '"US"', '"x"', '""', '"é"', '"Finance"', '"approved"', '"CC-900"'];
  const STRING_PATHS = [
    'change.kind',
    'change.channel',
    'target.tier',
    'actor.type',
    'actor.id',
    'target.id',
    'change.factor.type',
    'target.employeeType',
    'context.ipReputation',
    'context.country',
    'context.s',
    'context.n',
    'context.b',
    'context.nul',
    'context.missing',
    'target.attributes.costCenter',
    'target.attributes.remote',
    'request.state',
    'change.id',
    'context.obj.inner',
    'actor.login',
  ];
  const LISTS = [
    'target.groups',
    'actor.groups',
    'target.adminRoles',
    'context.alerts',
    'context.list',
    'context.mixed',
    'context.empty',
    '["a", "b"]',
    '[]',
    '["a", 1]',
    'target.attributes',
    'context',
    'context.obj',
    'request.approvals',
    'context.s',
  ];
  const NUMBERS = [
    'size(target.groups)',
    'target.adminRoles.size()',
    'context.n',
    'context.big',
    '0',
    '1',
    '3',
    '2.5',
    'size(context.s)',
    'size(context)',
    'context.alerts.size()',
    'size(context.mixed)',
    'context.s.size()',
  ];
  const BOOLS = [
    'target.flags.shared',
    'target.flags.breakGlass',
    'context.newDevice',
    'context.b',
    'context.s',
    'true',
    'false',
    'context.nul',
    'context.missing',
  ];
  const HAS = [
    'context.newDevice',
    'change.factor',
    'target.attributes.remote',
    'target.employeeType',
    'change.factor.type',
    'context.obj.inner',
    'context.nul',
    'context.undef',
    'context.missing',
    'request.id',
    'context.obj.missing',
    'target.flags.shared',
  ];
  const TIMES = [
    'context.phoneChangedAt',
    'context.s',
    '"2025-05-30T10:00:00Z"',
    '"2025-05-30T10:00:00.123456+02:00"',
    'context.badTime',
    'change.occurredAt',
    '"garbage-garbage-garbage"',
  ];
  const DURATIONS = ['"168h"', '"1h30m"', '"90s"', '"-2h"', '"1.5h"', '"0s"'];

  const str = () => (random() < 0.5 ? pick(STRING_PATHS) : pick(STRINGS));

  function expression(depth: number, vars: string[]): string {
    const r = random();
    if (depth <= 0 || r < 0.12) return random() < 0.2 && vars.length ? `${pick(vars)}.severity == ${pick(['"high"', '"low"'])}` : pick(BOOLS);
    if (r < 0.25) return `${str()} ${pick(['==', '!='])} ${str()}`;
    if (r < 0.35) return `${str()} in ${pick(LISTS)}`;
    if (r < 0.42) return `has(${pick(HAS)})`;
    if (r < 0.48) return `!${expression(depth - 1, vars)}`;
    if (r < 0.6) return `(${expression(depth - 1, vars)} && ${expression(depth - 1, vars)})`;
    if (r < 0.72) return `(${expression(depth - 1, vars)} || ${expression(depth - 1, vars)})`;
    if (r < 0.75) return `(${expression(depth - 1, vars)} ? ${expression(depth - 1, vars)} : ${expression(depth - 1, vars)})`;
    if (r < 0.82) return `${pick(NUMBERS)} ${pick(['<', '<=', '>', '>=', '==', '!='])} ${pick(NUMBERS)}`;
    if (r < 0.88) {
      const v = pick(['a', 'x', 'r']);
      return `${pick(LISTS)}.${pick(['exists', 'all'])}(${v}, ${random() < 0.5 ? `${v} == ${pick(STRINGS)}` : expression(depth - 1, [...vars, v])})`;
    }
    if (r < 0.92) return `${str()}.${pick(['startsWith', 'endsWith', 'contains'])}(${str()})`;
    const t = pick(TIMES);
    return pick([
      `now - timestamp(${t}) < duration(${pick(DURATIONS)})`,
      `timestamp(${t}) < now`,
      `now + duration(${pick(DURATIONS)}) > timestamp(${t})`,
      `timestamp(${t}) - duration(${pick(DURATIONS)}) <= now`,
      `timestamp(${t}) == now`,
    ]);
  }

  const WEIRD: readonly unknown[] = [
    'x',
    '',
    'helpdesk',
    'factor.enroll',
    'standard',
    'a',
    1,
    0,
    2.5,
    -1,
    NaN,
    10n,
    true,
    false,
    null,
    undefined,
    [],
    ['a'],
    ['a', 1],
    [1, 'a'],
    {},
    { inner: 'x' },
    { inner: undefined },
    new Date(0),
    new Map(),
    Object.create(null),
    Object.create({ inner: 'inherited' }),
    [undefined],
    [{ severity: 'high' }],
    [{ severity: 'low' }, 3],
    [{ x: undefined }],
    { a: undefined, b: 1 },
    [() => 1],
    [new Map([['k', 1]])],
    Symbol.for('s'),
    () => 1,
    [[undefined]],
    [{ severity: 'high' }, { severity: undefined }],
    '2025-05-31T10:00:00.000Z',
    '2025-05-31T10:00:00Z',
    'not a time at all!!!!',
    '2025-13-45T99:99:99.000Z',
  ];
  const weird = () => pick(WEIRD);
  const NORMAL_CONTEXT: Record<string, unknown> = {
    newDevice: true,
    ipReputation: 'malicious',
    country: 'US',
    s: 'abc',
    n: 3,
    b: true,
    list: ['a', 'b'],
    mixed: ['a', 2],
    empty: [],
    alerts: [{ severity: 'high' }, { severity: 'low' }],
    obj: { inner: 'a' },
    big: 5n,
    phoneChangedAt: '2025-05-31T10:00:00.000Z',
    badTime: 'x',
  };

  function activation(): Record<string, unknown> {
    const context: Record<string, unknown> = {};
    for (const k of [
      'newDevice',
      'ipReputation',
      'country',
      's',
      'n',
      'b',
      'nul',
      'list',
      'mixed',
      'empty',
      'alerts',
      'obj',
      'big',
      'phoneChangedAt',
      'badTime',
      'undef',
    ])
      if (random() < 0.6) context[k] = k === 'nul' ? null : k === 'undef' ? undefined : random() < 0.5 ? weird() : NORMAL_CONTEXT[k];
    const target: Record<string, unknown> = {
      id: random() < 0.9 ? 'u1' : weird(),
      groups: random() < 0.8 ? pick([['Everyone', 'Finance'], [], ['a'], ['a', 'b', 'x']]) : weird(),
      adminRoles: random() < 0.8 ? pick([[], ['SUPER_ADMIN']]) : weird(),
      flags: random() < 0.9 ? { shared: random() < 0.5, breakGlass: random() < 0.2 } : weird(),
      attributes: random() < 0.8 ? pick([{}, { costCenter: 'CC-900' }, { remote: true, costCenter: 3 }, { x: undefined, costCenter: 'CC-900' }]) : weird(),
      tier: pick(['standard', 'privileged', 5]),
    };
    if (random() < 0.7) target.employeeType = random() < 0.8 ? 'employee' : weird();
    const actor =
      random() < 0.95
        ? {
            id: random() < 0.5 ? 'u1' : 'a1',
            type: random() < 0.9 ? 'user' : weird(),
            groups: random() < 0.9 ? ['Service Desk'] : weird(),
            adminRoles: [],
            login: 'A@x',
          }
        : weird();
    const change: Record<string, unknown> = {
      id: 'c1',
      kind: random() < 0.9 ? pick(['factor.enroll', 'password.reset']) : weird(),
      channel: random() < 0.9 ? pick(['helpdesk', 'self_service']) : weird(),
      target,
      actor,
      context,
      occurredAt: random() < 0.9 ? '2025-06-01T11:59:00.000Z' : weird(),
    };
    if (random() < 0.6) change.factor = random() < 0.8 ? { type: pick(['sms', 'webauthn']) } : weird();
    const request =
      random() < 0.5 ? {} : { id: 'r', state: random() < 0.8 ? 'approved' : weird(), approvals: random() < 0.8 ? [{ approverId: 'x' }] : weird() };
    return {
      change,
      target,
      actor,
      context: random() < 0.97 ? context : weird(),
      request,
      now: random() < 0.97 ? new Date('2025-06-01T12:00:00.000Z') : weird(),
    };
  }

  const show = (v: unknown) =>
    JSON.stringify(v, (_k, x: unknown) =>
      typeof x === 'bigint' ? `${x}n` : x === undefined ? '<undefined>' : typeof x === 'function' ? '<function>' : typeof x === 'symbol' ? String(x) : x,
    );
  const check = checkEnvironment();
  const env = evaluationEnvironment();
  let expressions = 0;
  let cases = 0;
  let decided = 0;
  let mismatches = 0;
  let activations: Array<Record<string, unknown>> = [];
  const examples: string[] = [];
  for (let i = 0; i < count; i++) {
    if (i % 50 === 0) activations = Array.from({ length: 60 }, activation);
    const source = expression(4, []);
    const checked = check.check(source);
    if (!checked.valid || (checked.type !== 'bool' && checked.type !== 'dyn')) continue;
    expressions++;
    const parsed = env.parse(source);
    const native = compileNative(parsed.ast);
    if (!native) continue;
    for (const a of activations) {
      cases++;
      let reference: string;
      try {
        const v: unknown = parsed(a);
        reference = typeof v === 'boolean' ? String(v) : 'non-boolean';
      } catch {
        reference = 'error';
      }
      const n = native(a);
      if (n === undefined) continue;
      decided++;
      if (String(n) !== reference) {
        mismatches++;
        if (mismatches <= 5) examples.push(`MISMATCH ${source}\n  native ${n}, cel-js ${reference}\n  activation ${show(a)}`);
      }
    }
  }
  return { expressions, cases, decided, mismatches, examples };
}
