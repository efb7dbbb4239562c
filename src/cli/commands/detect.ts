import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { configPath, loadConfig, type ResolvedTenant } from '../../config/load-config.js';
import type { Alert } from '../../core/alert.js';
import { isWardenError, WardenError } from '../../core/errors.js';
import { TenantId, type IdentityChange } from '../../core/identity-change.js';
import { compilePolicy, type PolicyIssue } from '../../core/policy/compile-policy.js';
import { parseDuration } from '../../core/policy/duration.js';
import { activationFor, classify } from '../../core/policy/evaluate-policy.js';
import { compileRulePack, type CompiledRulePack } from '../../detect/compile-rule-pack.js';
import type { ChangeFacts } from '../../detect/detection-engine.js';
import { DEFAULT_SETTINGS } from '../../detect/detection-registry.js';
import type { IdentityConfig } from '../../detect/identity-keys.js';
import { NO_IDENTITY_CONFIG } from '../../detect/identity-keys.js';
import { replayFiles, type ReplayReport } from '../../detect/replay.js';
import { readDirectorySnapshot, withSnapshotIdentities } from '../../detect/read-directory-snapshot.js';
import { DirectoryIndex } from '../../core/directory-snapshot.js';
import type { NamedNormalizer } from '../../detect/replay-records.js';
import { RuleCaseFile, runRuleCase, type RuleCaseResult } from '../../detect/rule-cases.js';
import { readRuleSources, shippedCasesDir, shippedRuleSources } from '../../detect/rule-sources.js';
import { SEVERITIES } from '../../core/alert.js';
import { EXIT, type CliIo } from '../../runtime/cli-io.js';
import type { CliRuntime } from '../cli-runtime.js';
import { ProgressBar } from '../progress-bar.js';
import { formatIssueWithFrame } from './policy.js';

/** What `--tenant` (and the config) or the defaults give a detect command. */
interface DetectSetup {
  tenant: string;
  pack: CompiledRulePack;
  identities: IdentityConfig;
  latenessMs: number;
  idleAfterMs: number;
  groupForMs: number;
  policyFile?: string;
}

/**
 * The rules and settings to run: the shipped pack, the tenant's overrides
 * and identity mapping when `--tenant` names a configured tenant, and
 * `--rules` merged last.
 */
function detectSetup(rt: CliRuntime, opts: { tenant?: string; rules?: string }): DetectSetup {
  let tenant: ResolvedTenant | undefined;
  if (opts.tenant !== undefined) {
    const file = rt.configFile();
    if (file === undefined && !existsSync(configPath()))
      throw new WardenError('ERR_CONFIG_INVALID', `--tenant ${opts.tenant}: no warden.yaml here; pass --config FILE`);
    const config = loadConfig({ ...(file ? { path: file } : {}), connectors: rt.connectors });
    tenant = config.tenants.find((t) => t.id === opts.tenant);
    if (!tenant)
      throw new WardenError(
        'ERR_TENANT_UNKNOWN',
        `tenant "${opts.tenant}" is not in ${config.file} (configured: ${config.tenants.map((t) => t.id).join(', ')})`,
      );
  }
  const overrides = [...(tenant?.detection.rules ? readRuleSources(tenant.detection.rules) : []), ...(opts.rules ? readRuleSources(opts.rules) : [])];
  return {
    tenant: opts.tenant ?? 'replay',
    pack: compileRulePack(shippedRuleSources(), overrides),
    identities: tenant?.detection.identities ?? NO_IDENTITY_CONFIG,
    latenessMs: tenant?.detection.allowedLatenessMs ?? DEFAULT_SETTINGS.latenessMs,
    idleAfterMs: tenant?.detection.sourceIdleAfterMs ?? DEFAULT_SETTINGS.idleAfterMs,
    groupForMs: tenant?.detection.groupForMs ?? DEFAULT_SETTINGS.groupForMs,
    ...(tenant ? { policyFile: tenant.policyFile } : {}),
  };
}

/** Prints a refused rule pack like a compiler, then rethrows (exit 1). */
function reportRuleIssues(err: unknown, io: CliIo): never {
  if (isWardenError(err, 'ERR_RULES_INVALID')) {
    const issues = (err.details as { issues: PolicyIssue[] }).issues;
    io.err(issues.map(formatIssueWithFrame).join('\n') + `\n${issues.length} problem${issues.length > 1 ? 's' : ''} in the detection rules\n`);
    throw new WardenError('ERR_RULES_INVALID', 'detection rules refused');
  }
  throw err;
}

const time = (iso: string) => iso.slice(0, 19).replace('T', ' ') + 'Z';

/** Column widths of the alert table (fixed, so rows can be printed as alerts come). */
const COLUMNS = [20, 8, 40, 36, 7];

const tableLine = (cells: readonly string[]) =>
  cells
    .map((c, i) => c.padEnd(COLUMNS[i]!))
    .join('  ')
    .trimEnd() + '\n';

/** The alert table's header line. */
export const ALERT_TABLE_HEADER = tableLine(['FIRST CHANGE', 'SEVERITY', 'RULE', 'KEY', 'CHANGES']);

/**
 * A replayed change as `--changes` prints it: what detection saw, with the
 * vendor's ids for the change and for both people.
 */
export function changeLine(change: IdentityChange, tier: string | undefined): string {
  const person = (p: IdentityChange['target']) => ({
    id: p.id,
    ...(p.login !== undefined ? { login: p.login } : {}),
    ...(p.email !== undefined ? { email: p.email } : {}),
  });
  return (
    JSON.stringify({
      id: change.id,
      kind: change.kind,
      channel: change.channel,
      ...(tier !== undefined ? { tier } : {}),
      ...(change.factor ? { factor: change.factor.type } : {}),
      target: person(change.target),
      actor: person(change.actor),
      source: { idp: change.source.idp, via: change.source.via, rawType: change.source.rawType },
      occurredAt: change.occurredAt,
      eventIds: change.source.eventIds,
    }) + '\n'
  );
}

/** An alert as `--json` prints it: with the vendor ids of the person (each IdP's id of the target, from its changes). */
export function alertJson(alert: Alert): string {
  const people = new Map<string, { idp: string; id: string }>();
  for (const c of alert.changes) people.set(`${c.idp}\u0000${c.targetId}`, { idp: c.idp, id: c.targetId });
  return JSON.stringify({ ...alert, person: { key: alert.key, ids: [...people.values()] } }, null, 2);
}

/** One alert as table rows: a line of columns, its summary indented below. */
export function alertRow(a: Alert): string {
  const rules = [...new Set(a.matches.map((m) => m.rule))];
  return (
    tableLine([time(a.firstAt), a.severity, rules.length > 1 ? `${a.rule} (+${rules.length - 1})` : a.rule, a.key, `${a.changes.length}`]) +
    `    ${a.summary}\n`
  );
}

function replaySummary(r: ReplayReport): string {
  const total = Object.values(r.changes).reduce((a, b) => a + b, 0);
  const via = Object.entries(r.changes)
    .map(([k, n]) => `${n.toLocaleString('en-US')} ${k === 'change' ? 'normalized' : `via ${k}`}`)
    .join(', ');
  const ignored = Object.values(r.ignored).reduce((a, b) => a + b, 0);
  const parts = [
    `${r.records.toLocaleString('en-US')} record${r.records === 1 ? '' : 's'} from ${r.files} file${r.files === 1 ? '' : 's'}`,
    `${total.toLocaleString('en-US')} change${total === 1 ? '' : 's'}${via ? ` (${via})` : ''}`,
    ...(ignored ? [`${ignored.toLocaleString('en-US')} not governed (ignored by ${Object.keys(r.ignored).join(', ')})`] : []),
    ...(r.unrecognized ? [`${r.unrecognized.toLocaleString('en-US')} UNRECOGNIZED`] : []),
    ...(r.invalid ? [`${r.invalid.toLocaleString('en-US')} INVALID`] : []),
    ...(r.stats.duplicates ? [`${r.stats.duplicates.toLocaleString('en-US')} duplicate${r.stats.duplicates === 1 ? '' : 's'}`] : []),
    ...(r.stats.late ? [`${r.stats.late.toLocaleString('en-US')} too late to correlate`] : []),
    ...(r.stats.evicted ? [`${r.stats.evicted.toLocaleString('en-US')} evicted to bound memory`] : []),
    ...(r.stats.errors ? [`${r.stats.errors.toLocaleString('en-US')} rule evaluation errors`] : []),
  ];
  const lines = [`replayed ${parts.join(', ')}: ${r.alertCount} alert${r.alertCount === 1 ? '' : 's'}`];
  if (r.pendingAbsences)
    lines.push(
      `${r.pendingAbsences} absence check${r.pendingAbsences === 1 ? '' : 's'} still open at the end of the input (pass --flush to let their windows pass)`,
    );
  for (const p of r.problems) lines.push(`  ${p.file}:${p.line}: ${p.error}`);
  if (r.unrecognized + r.invalid > r.problems.length) lines.push(`  … and ${r.unrecognized + r.invalid - r.problems.length} more`);
  return lines.join('\n') + '\n';
}

/** Rule case files under a path: the file itself, or every .yaml/.yml below a directory. */
function caseFiles(target: string): string[] {
  const stat = statSync(target, { throwIfNoEntry: false });
  if (!stat) throw new WardenError('ERR_CONFIG_INVALID', `no such file or directory: ${target}`);
  if (!stat.isDirectory()) return [target];
  return readdirSync(target, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => path.join(target, f));
}

function readCaseFile(file: string): RuleCaseFile {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new WardenError('ERR_CONFIG_INVALID', `cannot read ${file}: ${(err as Error).message.split('\n')[0]}`);
  }
  const parsed = RuleCaseFile.safeParse(raw);
  if (!parsed.success) throw new WardenError('ERR_VALIDATION', `${file}:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** `warden detect replay|test|rules` and `warden alerts list|close`. */
export function registerDetectCommands(program: Command, rt: CliRuntime): void {
  const { io, setExit } = rt;
  const detect = program.command('detect').description('detection of risky chains of changes: replay recorded events, test and list the rules');

  detect
    .command('replay')
    .description('run the detection rules over recorded events and print the alerts they raise')
    .argument(
      '<files...>',
      'NDJSON or JSON-array files of normalized changes or vendor records (Okta LogEvents, Entra directoryAudits, O365 audit records: any record a connector recognizes)',
    )
    .option('--tenant <id>', "use this configured tenant's rule overrides, identity aliases, lateness and policy tiers")
    .option('--rules <path>', "a rule file or directory merged over the pack (after the tenant's)")
    .option('--policy <file>', "classify targets into tiers with this policy (default: the tenant's, with --tenant)")
    .option(
      '--directory <file>',
      'a directory snapshot (warden okta|entra directory export): vendor records are enriched from it as live (help desk, groups, roles, identity links); repeatable',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option('--flush', 'at the end, let every window pass: absence rules fire for what has no follow-up in the input')
    .option('--json', 'print the alerts as a JSON array (each with the vendor ids of the person and of each change)')
    .option(
      '--changes',
      'print the normalized changes as NDJSON instead of the alerts (kind, channel, tier, target and actor ids and logins, source, event time, vendor event ids)',
    )
    .option('--progress', 'always show a progress bar (default: on a terminal, for inputs over 1 MB)')
    .option('--no-progress', 'never show a progress bar')
    .addHelpText(
      'after',
      "\nEvent time is each change's occurredAt. Several files are merged by event time; within a source, records may come\n" +
        "out of order by up to the allowed lateness. Every record, change or not (a sign-in), moves its source's event time.\n" +
        'Change requests are not known in a replay: rules that look for a missing approved request report every match.\n' +
        'Without --directory, a record says only what it says: a help-desk agent is an admin, and groups and roles are unknown.\n' +
        'Exit status: 0 when every record was read, 1 when some were unrecognized or invalid (they are listed), 2 bad usage.',
    )
    .action(
      async (
        files: string[],
        opts: {
          tenant?: string;
          rules?: string;
          policy?: string;
          directory?: string[];
          flush?: boolean;
          json?: boolean;
          changes?: boolean;
          progress?: boolean;
        },
      ) => {
        if (opts.json && opts.changes) throw new WardenError('ERR_VALIDATION', '--changes and --json: choose one (--changes prints NDJSON)');
        if (opts.tenant !== undefined && !TenantId.safeParse(opts.tenant).success)
          throw new WardenError('ERR_VALIDATION', `--tenant ${opts.tenant}: not a tenant id`);
        let setup: DetectSetup;
        try {
          setup = detectSetup(rt, opts);
        } catch (err) {
          reportRuleIssues(err, io);
        }
        const policyFile = opts.policy ?? setup.policyFile;
        let tierOf: ((change: IdentityChange) => ReturnType<typeof classify>['tier']) | undefined;
        if (policyFile) {
          const policy = compilePolicy({ file: policyFile, text: readFileSync(policyFile, 'utf8') });
          tierOf = (change) => classify(policy, activationFor({ change, now: new Date(change.occurredAt) })).tier;
        }
        for (const f of [...files, ...(opts.directory ?? [])]) if (!existsSync(f)) throw new WardenError('ERR_CONFIG_INVALID', `no such file: ${f}`);
        const directory = opts.directory?.length ? new DirectoryIndex(opts.directory.map(readDirectorySnapshot)) : undefined;
        const normalizers: NamedNormalizer[] = rt.connectors.filter((p) => p.records).map((p) => ({ name: p.name, records: p.records! }));
        const total = files.reduce((n, f) => n + statSync(f).size, 0);
        const show = opts.progress === true ? true : opts.progress === false ? false : Boolean(process.stderr.isTTY) && total > 1_000_000;
        const bar = show ? new ProgressBar((s) => io.err(s), total, undefined, rt.clock) : undefined;
        // Alerts are printed as they become final, so memory stays bounded on long inputs.
        let printed = 0;
        const onAlert = async (alert: Alert) => {
          bar?.clear();
          if (opts.changes) return;
          if (opts.json) await io.out(`${printed === 0 ? '[\n' : ',\n'}${alertJson(alert)}`);
          else await io.out(`${printed === 0 ? ALERT_TABLE_HEADER : ''}${alertRow(alert)}`);
          printed++;
        };
        const report = await replayFiles(files, {
          tenant: setup.tenant,
          pack: setup.pack,
          identities: directory ? withSnapshotIdentities(setup.identities, directory) : setup.identities,
          latenessMs: setup.latenessMs,
          idleAfterMs: setup.idleAfterMs,
          groupForMs: setup.groupForMs,
          normalizers,
          ...(directory ? { directory } : {}),
          clock: rt.clock,
          ...(opts.changes ? { onChange: (change: IdentityChange, facts: ChangeFacts) => void io.out(changeLine(change, facts.tier)) } : {}),
          ...(tierOf ? { tierOf } : {}),
          ...(opts.flush ? { flush: true } : {}),
          ...(bar
            ? {
                onProgress: (bytes: number, records: number, alerts: number) =>
                  bar.update(bytes, `${records.toLocaleString('en-US')} records  ${alerts} alerts`),
              }
            : {}),
          onAlert,
        });
        bar?.update(total, `${report.records.toLocaleString('en-US')} records  ${report.alertCount} alerts`, true);
        bar?.done();
        if (opts.changes) io.err(`${report.alertCount} alert${report.alertCount === 1 ? '' : 's'} (not printed with --changes)\n`);
        else if (opts.json) await io.out(printed === 0 ? '[]\n' : '\n]\n');
        else if (printed === 0) await io.out('no alerts\n');
        io.err(replaySummary(report));
        if (report.unrecognized > 0 && normalizers.length === 0)
          io.err('No connector with a record normalizer is installed: only normalized IdentityChanges can be replayed.\n');
        setExit(report.unrecognized + report.invalid > 0 ? EXIT.failed : EXIT.ok);
      },
    );

  detect
    .command('test')
    .description('run rule test cases ({ events, want: { alerts } }) against the rules; exit 1 on any failure')
    .argument('[paths...]', 'case files or directories (default: the shipped cases)')
    .option('--tenant <id>', "test this configured tenant's rules (shipped pack with its overrides)")
    .option('--rules <path>', 'a rule file or directory merged over the pack')
    .option('--json', 'machine-readable results')
    .action(async (paths: string[], opts: { tenant?: string; rules?: string; json?: boolean }) => {
      let setup: DetectSetup;
      try {
        setup = detectSetup(rt, opts);
      } catch (err) {
        reportRuleIssues(err, io);
      }
      const files = (paths.length ? paths : [shippedCasesDir()]).flatMap(caseFiles);
      if (files.length === 0) throw new WardenError('ERR_CONFIG_INVALID', `no case files (*.yaml) in ${paths.join(', ')}`);
      let passed = 0;
      let failed = 0;
      const report: Array<{ file: string; results: Array<Omit<RuleCaseResult, 'alerts'> & { alerts: number }> }> = [];
      for (const file of files) {
        const data = readCaseFile(file);
        let pack = setup.pack;
        if (data.rules) {
          try {
            pack = compileRulePack(shippedRuleSources(), [
              ...readRuleSources(path.resolve(path.dirname(file), data.rules)),
              ...(opts.rules ? readRuleSources(opts.rules) : []),
            ]);
          } catch (err) {
            reportRuleIssues(err, io);
          }
        }
        const settings = {
          latenessMs: data.allowedLateness ? parseDuration(data.allowedLateness) * 1000 : setup.latenessMs,
          groupForMs: data.groupFor ? parseDuration(data.groupFor) * 1000 : setup.groupForMs,
          identities: data.identities ?? setup.identities,
          ...(data.start ? { start: data.start } : {}),
        };
        const entry: (typeof report)[number] = { file, results: [] };
        report.push(entry);
        if (!opts.json) await io.out(`${path.relative(process.cwd(), file) || file}\n`);
        for (const c of data.cases) {
          const result = runRuleCase(pack, settings, c);
          entry.results.push({ description: result.description, passed: result.passed, failures: result.failures, alerts: result.alerts.length });
          if (result.passed) passed++;
          else failed++;
          if (opts.json) continue;
          await io.out(`  ${result.passed ? 'ok  ' : 'FAIL'}  ${result.description}\n`);
          for (const f of result.failures) await io.out(`          ${f}\n`);
        }
      }
      if (opts.json) await io.out(JSON.stringify({ passed, failed, files: report }, null, 2) + '\n');
      else await io.out(`\n${passed} passed, ${failed} failed\n`);
      setExit(failed > 0 ? EXIT.failed : EXIT.ok);
    });

  detect
    .command('rules')
    .description("list the detection rules in force: the shipped pack, with a tenant's overrides")
    .option('--tenant <id>', 'the rules of this configured tenant')
    .option('--rules <path>', 'a rule file or directory merged over the pack')
    .option('--json', 'every rule with its intent, false-positive notes and ATT&CK techniques')
    .action(async (opts: { tenant?: string; rules?: string; json?: boolean }) => {
      let setup: DetectSetup;
      try {
        setup = detectSetup(rt, opts);
      } catch (err) {
        reportRuleIssues(err, io);
      }
      const { pack } = setup;
      if (opts.json) {
        await io.out(
          JSON.stringify(
            {
              version: pack.version,
              disabled: pack.disabled,
              rules: pack.rules.map((r) => ({
                id: r.id,
                title: r.title,
                type: r.type,
                severity: r.severity,
                by: r.by.kind === 'expression' ? r.by.source : r.by.kind,
                windowMs: r.windowMs,
                attack: r.attack,
                intent: r.intent,
                falsePositives: r.falsePositives,
                file: r.file,
                line: r.line,
              })),
            },
            null,
            2,
          ) + '\n',
        );
      } else {
        const fmt = (ms: number) => (ms === 0 ? '-' : ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : `${ms / 60_000}m`);
        const rows = pack.rules.map((r) => [r.id, r.type, r.severity, fmt(r.windowMs), r.attack.map((a) => a.id).join(',')]);
        const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((row) => row[i]!.length), 4));
        for (const row of rows) await io.out(row.map((c, i) => (i < 4 ? c.padEnd(widths[i]!) : c)).join('  ') + '\n');
        await io.out(`${pack.rules.length} rules${pack.disabled.length ? `, disabled: ${pack.disabled.join(', ')}` : ''} (${pack.version})\n`);
      }
      setExit(EXIT.ok);
    });

  const alerts = program.command('alerts').description('detection alerts in the store: list them, close them after review');
  alerts
    .command('list')
    .description('alerts of a tenant, newest first')
    .requiredOption('--tenant <id>', 'tenant')
    .option('--status <status>', 'open or closed')
    .option('--severity <level>', `at least this severity (${SEVERITIES.join(', ')})`)
    .option('--limit <n>', 'how many', '50')
    .option('--json', 'machine-readable list')
    .action(async (opts: { tenant: string; status?: string; severity?: string; limit: string; json?: boolean }) =>
      setExit(
        await rt.runOperation('alerts.list', {
          tenant: opts.tenant,
          limit: Number(opts.limit),
          json: opts.json ?? false,
          ...(opts.status ? { status: opts.status } : {}),
          ...(opts.severity ? { severity: opts.severity } : {}),
        }),
      ),
    );
  alerts
    .command('close')
    .description("close an alert after review, with a reason (audited): it stops weighing on the person's decisions")
    .argument('<id>', 'alert id')
    .requiredOption('--tenant <id>', 'tenant')
    .requiredOption('--reason <text>', 'why, for the audit log')
    .action(async (id: string, opts: { tenant: string; reason: string }) =>
      setExit(await rt.runOperation('alerts.close', { tenant: opts.tenant, id, reason: opts.reason })),
    );
}
