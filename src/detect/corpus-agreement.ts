import { systemClock } from '../core/clock.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { CompiledRulePack } from './compile-rule-pack.js';
import { DetectionEngine } from './detection-engine.js';
import { IdentityResolver } from './identity-keys.js';
import { MemoryDetector } from './memory-detector.js';
import { normalizeRecord, type NamedNormalizer } from './replay-records.js';
import { WardenError } from '../core/errors.js';

/**
 * Agreement with public detection test data: Panther's rule tests are
 * records with an expected verdict. For every case of a Panther rule that a
 * Warden rule covers, the record goes through whichever connector's
 * normalizer recognizes it and then, alone, through the full pack; event time
 * is then let pass beyond every window, so absence rules decide. Our verdict
 * is whether the equivalent rule raised (or joined) an alert.
 */

export const Equivalence = z
  .object({
    panther: z.string().min(1),
    file: z.string().min(1),
    rule: z.string().min(1),
    why: z.string().min(1),
  })
  .strict();
export type Equivalence = z.infer<typeof Equivalence>;

export const EquivalenceFile = z.object({ equivalents: z.array(Equivalence).min(1) }).strict();

const PantherCase = z.object({ name: z.string(), expected: z.boolean(), log: z.unknown(), mocks: z.unknown().optional() });

/** Our verdict on one Panther test case. */
export interface CaseVerdict {
  panther: string;
  rule: string;
  name: string;
  expected: boolean;
  /** true/false: our rule alerted or not; `unrecognized`: no registered normalizer reads the record; `invalid`: one failed on it. */
  got: boolean | 'unrecognized' | 'invalid';
  /** The connector that normalized it. */
  via?: string;
  /** The case depends on Panther mocks (enrichment, KV store) that a record alone does not carry. */
  mocked: boolean;
  error?: string;
}

export interface AgreementReport {
  cases: CaseVerdict[];
  /** Cases a normalizer read (alert or not): the ones compared. */
  compared: number;
  agreed: number;
  unrecognized: number;
  invalid: number;
}

/** Reads the equivalence table and every case it names. */
export function readCorpus(dir: string): Array<Equivalence & { cases: Array<z.infer<typeof PantherCase>> }> {
  const table = EquivalenceFile.parse(parseYaml(readFileSync(path.join(dir, 'equivalents.yaml'), 'utf8')));
  return table.equivalents.map((e) => ({ ...e, cases: z.array(PantherCase).parse(JSON.parse(readFileSync(path.join(dir, e.file), 'utf8'))) }));
}

/**
 * Measures agreement over a corpus directory (`equivalents.yaml` and the
 * Panther files it names) with the given normalizers and rule pack.
 */
export function corpusAgreement(
  dir: string,
  pack: CompiledRulePack,
  normalizers: readonly NamedNormalizer[],
  options: { latenessMs: number; groupForMs: number; now?: Date },
): AgreementReport {
  const now = options.now ?? systemClock();
  const longest = Math.max(0, ...pack.rules.map((r) => r.windowMs + (r.latenessMs ?? options.latenessMs)));
  const cases: CaseVerdict[] = [];
  for (const eq of readCorpus(dir)) {
    if (!pack.rules.some((r) => r.id === eq.rule))
      throw new WardenError('ERR_RULES_INVALID', `equivalents.yaml maps ${eq.panther} to "${eq.rule}", which is not in the pack`);
    for (const c of eq.cases) {
      const base = { panther: eq.panther, rule: eq.rule, name: c.name, expected: c.expected, mocked: c.mocks !== undefined };
      const outcome = normalizeRecord(c.log, 'corpus', normalizers, now);
      if (outcome.kind === 'unrecognized') {
        cases.push({ ...base, got: 'unrecognized' });
        continue;
      }
      if (outcome.kind === 'invalid') {
        cases.push({ ...base, got: 'invalid', error: outcome.error });
        continue;
      }
      if (outcome.kind === 'ignored') {
        cases.push({ ...base, got: false, via: outcome.via });
        continue;
      }
      const detector = new MemoryDetector(new DetectionEngine(pack, new IdentityResolver()), { tenant: 'corpus', ...options });
      for (const change of outcome.changes) detector.push(change);
      if (Number.isFinite(detector.newest)) detector.advanceTo(detector.newest + longest + 1);
      cases.push({ ...base, got: detector.alerts.some((a) => a.matches.some((m) => m.rule === eq.rule)), via: outcome.via });
    }
  }
  const compared = cases.filter((c) => typeof c.got === 'boolean');
  return {
    cases,
    compared: compared.length,
    agreed: compared.filter((c) => c.got === c.expected).length,
    unrecognized: cases.filter((c) => c.got === 'unrecognized').length,
    invalid: cases.filter((c) => c.got === 'invalid').length,
  };
}

/** The report as a table for people: every case, then the totals. */
export function formatAgreement(report: AgreementReport): string {
  const show = (v: CaseVerdict['got'] | boolean) => (v === true ? 'ALERT' : v === false ? 'no' : v);
  const rows = report.cases.map((c) => [
    typeof c.got === 'boolean' ? (c.got === c.expected ? 'agree' : 'DIFFER') : '-',
    c.panther,
    c.name.slice(0, 60),
    show(c.expected),
    show(c.got),
    c.rule,
    c.via ?? (c.error ? c.error.slice(0, 60) : ''),
  ]);
  const header = ['', 'PANTHER RULE', 'TEST', 'PANTHER', 'WARDEN', 'OUR RULE', 'VIA'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const pct = report.compared ? ((100 * report.agreed) / report.compared).toFixed(1) : '-';
  return [
    line(header),
    ...rows.map(line),
    '',
    `agreement: ${report.agreed}/${report.compared} compared cases (${pct}%); ${report.unrecognized} not recognized by any registered normalizer; ${report.invalid} a normalizer failed on`,
  ].join('\n');
}

/** The recorded agreement a measurement must not fall below (`agreement-baseline.json`). */
export interface AgreementBaseline {
  compared: number | null;
  agreed: number | null;
}

/**
 * What is wrong with a measurement against the baseline: nothing compared (a
 * vacuous pass), no baseline recorded yet, fewer cases read, or a lower share
 * of agreement. Empty when it holds.
 */
export function judgeAgreement(report: AgreementReport, baseline: AgreementBaseline): string[] {
  if (report.compared === 0) return ['no registered normalizer recognizes any corpus record: nothing was compared'];
  if (baseline.compared === null || baseline.agreed === null || baseline.compared === 0)
    return [
      'no baseline recorded yet: review the table, then run WARDEN_RECORD_CORPUS_BASELINE=1 npx vitest run test/detect/corpus-agreement.test.ts and commit test/fixtures/corpus/agreement-baseline.json',
    ];
  const problems: string[] = [];
  if (report.compared < baseline.compared)
    problems.push(`fewer corpus cases are read (${report.compared}) than when the baseline was recorded (${baseline.compared})`);
  if (report.agreed / report.compared < baseline.agreed / baseline.compared)
    problems.push(`agreement fell: ${report.agreed}/${report.compared} is below the baseline ${baseline.agreed}/${baseline.compared}`);
  return problems;
}
