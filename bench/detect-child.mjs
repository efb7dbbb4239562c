// One measured run of bench/detect.ts, in a child process of its own: the
// readline + JSON.parse loop, or the detection replay. Plain JavaScript, so
// the replay can run the compiled code as `warden detect replay` does (plain
// node, dist/), or the TypeScript sources under tsx (`node --import tsx`);
// the loop runs in the same kind of process as the replay it is compared with.
//
//   node bench/detect-child.mjs <loop|replay> <file> <dist|source>
import { createReadStream } from 'node:fs';
import readline from 'node:readline';

const cpuSince = (start) => {
  const u = process.cpuUsage(start);
  return (u.user + u.system) / 1000;
};

async function loop(file) {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  let records = 0;
  for await (const line of readline.createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY })) {
    if (line.length === 0) continue;
    JSON.parse(line);
    records++;
  }
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, cpuMs: cpuSince(cpu), records, alerts: 0 };
}

async function replay(file, from) {
  const root = from === 'dist' ? '../dist/src/detect' : '../src/detect';
  const ext = from === 'dist' ? 'js' : 'ts';
  const { compileRulePack } = await import(`${root}/compile-rule-pack.${ext}`);
  const { shippedRuleSources } = await import(`${root}/rule-sources.${ext}`);
  const { replayFiles } = await import(`${root}/replay.${ext}`);
  const { DEFAULT_SETTINGS } = await import(`${root}/detection-registry.${ext}`);
  const pack = compileRulePack(shippedRuleSources());
  const byRule = {};
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  // As `warden detect replay` does: alerts are handed over as they become final (here counted, there printed).
  const report = await replayFiles([file], {
    tenant: 'bench',
    pack,
    identities: { domains: {}, aliases: {} },
    latenessMs: DEFAULT_SETTINGS.latenessMs,
    groupForMs: DEFAULT_SETTINGS.groupForMs,
    normalizers: [],
    onAlert: (a) => {
      for (const m of a.matches) byRule[m.rule] = (byRule[m.rule] ?? 0) + 1;
    },
  });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  return {
    ms,
    cpuMs: cpuSince(cpu),
    records: report.records,
    alerts: report.alertCount,
    detail: { rules: pack.rules.length, stats: report.stats, byRule, pendingAbsences: report.pendingAbsences },
  };
}

const [contender, file, from] = process.argv.slice(2);
const startRssMb = Math.round(process.memoryUsage.rss() / 1048576);
const result = contender === 'replay' ? await replay(file, from) : await loop(file);
const maxRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
process.send({ contender, maxRssMb, startRssMb, ...result }, () => process.exit(0));
