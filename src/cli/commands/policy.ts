import type { Clock } from '../../core/clock.js';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { RequestSnapshot } from '../../core/change-request.js';
import { isWardenError, WardenError } from '../../core/errors.js';
import { ChangeInput, completeChange } from '../../core/identity-change.js';
import { compilePolicy, formatPolicyIssue, type CompiledPolicy, type PolicyIssue } from '../../core/policy/compile-policy.js';
import { CaseFile, runDecisionCase, type CaseResult } from '../../core/policy/decision-cases.js';
import { formatDuration } from '../../core/policy/duration.js';
import { explainPolicy } from '../../core/policy/explain-policy.js';
import type { Obligations } from '../../core/decision.js';
import { EXIT, type CliIo } from '../../runtime/cli-io.js';
import type { CliRuntime } from '../cli-runtime.js';

/** `file:line:col: message` plus the source line and a caret, as compilers print. */
export function formatIssueWithFrame(issue: PolicyIssue): string {
  const head = formatPolicyIssue(issue);
  if (!issue.sourceLine) return head;
  const gutter = String(issue.line).padStart(5);
  return `${head}\n${gutter} | ${issue.sourceLine}\n${' '.repeat(5)} | ${' '.repeat(Math.max(0, issue.column - 1))}^`;
}

function readPolicy(file: string): CompiledPolicy {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new WardenError('ERR_CONFIG_INVALID', `cannot read ${file}: ${(err as Error).message}`);
  }
  return compilePolicy({ file, text });
}

function readData(file: string): unknown {
  try {
    return parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new WardenError('ERR_CONFIG_INVALID', `cannot read ${file}: ${(err as Error).message.split('\n')[0]}`);
  }
}

function parseWith<S extends z.ZodType>(schema: S, value: unknown, file: string): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new WardenError('ERR_VALIDATION', `${file}:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** One line summing up obligations, e.g. "proofing ≥ callback; 1 approval from group:x; ttl 1h; actions: hold_group". */
export function describeObligations(o: Obligations): string {
  const parts: string[] = [];
  if (o.request) parts.push('an approved change request');
  if (o.proofing) parts.push(`proofing ≥ ${o.proofing}`);
  if (o.ticket) parts.push(`ticket${o.ticket.system ? ` in ${o.ticket.system}` : ''}${o.ticket.states ? ` (${o.ticket.states.join(', ')})` : ''}`);
  if (o.approvals)
    parts.push(`${o.approvals.count} approval${o.approvals.count > 1 ? 's' : ''}${o.approvals.from.length ? ` from ${o.approvals.from.join(', ')}` : ''}`);
  if (o.ttlSeconds) parts.push(`within ${formatDuration(o.ttlSeconds)}`);
  if (o.actions.length) parts.push(`actions: ${o.actions.join(', ')}`);
  if (o.notify.length) parts.push(`notify: ${o.notify.join(', ')}`);
  return parts.join('; ') || 'none';
}

async function check(files: string[], opts: { json?: boolean }, io: CliIo): Promise<number> {
  let failed = 0;
  const report: unknown[] = [];
  for (const file of files) {
    try {
      const p = readPolicy(file);
      report.push({ file, ok: true, tenant: p.tenant, version: p.version, mode: p.mode, rules: p.rules.length, tiers: p.tiers.map((t) => t.name) });
      if (!opts.json)
        await io.out(`${file}: ok (tenant ${p.tenant}, ${p.mode} mode, ${p.rules.length} rules, ${p.tiers.length} tiers, version ${p.version})\n`);
    } catch (err) {
      if (!isWardenError(err, 'ERR_POLICY_INVALID')) throw err;
      failed++;
      const issues = (err.details as { issues: PolicyIssue[] }).issues;
      report.push({ file, ok: false, issues: issues.map(({ sourceLine: _s, ...i }) => i) });
      if (!opts.json) io.err(issues.map(formatIssueWithFrame).join('\n') + `\n${file}: ${issues.length} problem${issues.length > 1 ? 's' : ''}\n`);
    }
  }
  if (opts.json) await io.out(JSON.stringify(report, null, 2) + '\n');
  return failed ? EXIT.failed : EXIT.ok;
}

async function explain(opts: { policy: string; change: string; request?: string; now?: string; json?: boolean }, io: CliIo, clock: Clock): Promise<number> {
  const policy = readPolicy(opts.policy);
  // Accepts a bare change or a whole POST /v1/decisions body ({ tenant, change }).
  const raw = readData(opts.change);
  const input = parseWith(ChangeInput, raw !== null && typeof raw === 'object' && 'change' in raw ? (raw as { change: unknown }).change : raw, opts.change);
  const now = opts.now ? new Date(opts.now) : clock();
  if (Number.isNaN(now.getTime())) throw new WardenError('ERR_VALIDATION', `--now ${opts.now} is not a time`);
  const change = completeChange(input, input.tenant ?? policy.tenant, now);
  const request = opts.request ? parseWith(RequestSnapshot, readData(opts.request), opts.request) : undefined;
  const explanation = explainPolicy(policy, { change, ...(request ? { request } : {}), now });
  if (opts.json) {
    await io.out(JSON.stringify(explanation, null, 2) + '\n');
    return EXIT.ok;
  }
  const v = explanation.verdict;
  const lines = [
    `Decision: ${v.outcome.toUpperCase()}  (${v.mode} mode, policy ${policy.file} ${v.policyVersion})`,
    `Change:   ${change.kind} via ${change.channel} on ${change.target.login ?? change.target.id} by ${change.actor.login ?? change.actor.id}`,
    `Tier:     ${v.tier} (${explanation.tierWhy})`,
    v.defaulted ? `No rule matched: the policy default "${v.outcome}" applies.` : '',
    '',
    'Rules:',
  ];
  const width = Math.max(...explanation.rules.map((r) => r.id.length), 4);
  const label = { matched: 'MATCHED    ', not_matched: 'not matched', skipped: 'skipped    ', error: 'ERROR      ' } as const;
  for (const r of explanation.rules) {
    const outcome = r.result ? r.result.outcome.padEnd(5) : '     ';
    lines.push(`  ${label[r.status]}  ${r.id.padEnd(width)}  ${outcome}  line ${r.line}: ${r.why}`);
  }
  lines.push('', `Obligations: ${describeObligations(v.obligations)}`, '');
  await io.out(lines.filter((l, i) => l !== '' || i > 3).join('\n'));
  return EXIT.ok;
}

/** Case files under a path: the file itself, or every .yaml/.yml below a directory. */
function caseFiles(target: string): string[] {
  if (!statSync(target, { throwIfNoEntry: false })) throw new WardenError('ERR_CONFIG_INVALID', `no such file or directory: ${target}`);
  if (!statSync(target).isDirectory()) return [target];
  return readdirSync(target, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => path.join(target, f));
}

async function test(targets: string[], opts: { policy?: string; json?: boolean }, io: CliIo): Promise<number> {
  const files = targets.flatMap(caseFiles);
  if (files.length === 0) throw new WardenError('ERR_CONFIG_INVALID', `no case files (*.yaml) in ${targets.join(', ')}`);
  const policies = new Map<string, CompiledPolicy>();
  let passed = 0;
  let failed = 0;
  const report: Array<{ file: string; policy?: string; error?: string; results: Array<Omit<CaseResult, 'verdict'> & { outcome: string }> }> = [];
  for (const file of files) {
    const entry: (typeof report)[number] = { file, results: [] };
    report.push(entry);
    try {
      const data = parseWith(CaseFile, readData(file), file);
      const policyFile = opts.policy ?? (data.policy ? path.resolve(path.dirname(file), data.policy) : undefined);
      if (!policyFile) throw new WardenError('ERR_VALIDATION', `${file}: name the policy (key "policy", relative to the file) or pass --policy`);
      entry.policy = policyFile;
      let policy = policies.get(policyFile);
      if (!policy) {
        policy = readPolicy(policyFile);
        policies.set(policyFile, policy);
      }
      const cases = 'cases' in data ? data.cases : [data];
      if (!opts.json) await io.out(`${file}  (policy ${path.relative(process.cwd(), policyFile) || policyFile})\n`);
      for (const c of cases) {
        const result = runDecisionCase(policy, c);
        entry.results.push({ description: result.description, passed: result.passed, failures: result.failures, outcome: result.verdict.outcome });
        if (result.passed) passed++;
        else failed++;
        if (!opts.json) await io.out(`  ${result.passed ? 'ok  ' : 'FAIL'}  ${result.description}\n${result.failures.map((f) => `          ${f}\n`).join('')}`);
      }
    } catch (err) {
      if (!isWardenError(err)) throw err;
      failed++;
      entry.error = err.message;
      if (!opts.json) {
        const issues = (err.details as { issues?: PolicyIssue[] } | undefined)?.issues;
        io.err(`${issues ? issues.map(formatIssueWithFrame).join('\n') : err.message}\n`);
      }
    }
  }
  if (opts.json) await io.out(JSON.stringify({ passed, failed, files: report }, null, 2) + '\n');
  else await io.out(`\n${passed} passed, ${failed} failed\n`);
  return failed ? EXIT.failed : EXIT.ok;
}

/** `warden policy check|explain|test` */
export function registerPolicyCommands(program: Command, rt: CliRuntime): void {
  const { io, setExit } = rt;
  const policy = program.command('policy').description('check, explain and test tenant policies');

  policy
    .command('check')
    .description('validate policy files: schema, CEL syntax and types, unknown variables and literals, duplicate rule ids')
    .argument('<files...>', 'policy files')
    .option('--json', 'machine-readable report')
    .addHelpText('after', '\nExit status: 0 when every file is valid, 1 otherwise. Problems print as file:line:column.')
    .action(async (files: string[], opts: { json?: boolean }) => setExit(await check(files, opts, io)));

  policy
    .command('explain')
    .description('show, for one change, every rule of a policy: matched or not, and why')
    .requiredOption('--policy <file>', 'policy file')
    .requiredOption('--change <file>', 'the change, JSON or YAML: a change, or a whole POST /v1/decisions body')
    .option('--request <file>', 'a change request snapshot to judge `require` blocks against')
    .option('--now <time>', 'evaluation time (ISO 8601); default now')
    .option('--json', 'machine-readable explanation')
    .action(async (opts: { policy: string; change: string; request?: string; now?: string; json?: boolean }) => setExit(await explain(opts, io, rt.clock)));

  policy
    .command('test')
    .description('run decision cases ({description, change, request?, want}) against a policy')
    .argument('<paths...>', 'case files or directories of them')
    .option('--policy <file>', 'policy to test (default: the `policy` key of each case file)')
    .option('--json', 'machine-readable results')
    .addHelpText('after', '\nExit status: 0 when every case passes, 1 otherwise.')
    .action(async (paths: string[], opts: { policy?: string; json?: boolean }) => setExit(await test(paths, opts, io)));
}
