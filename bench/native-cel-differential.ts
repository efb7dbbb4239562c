/**
 * Longer runs of the differential check of native expression evaluation
 * against the cel-js interpreter (test/helpers/cel-differential.ts; CI runs
 * a short one in src/core/policy/native-cel.test.ts).
 *
 *   npx tsx bench/native-cel-differential.ts [seed] [expressions]
 *
 * Not a benchmark and not timed; exits 1 on any mismatch.
 */
import { runCelDifferential } from '../test/helpers/cel-differential.js';

const seed = Number(process.argv[2] ?? 1);
const count = Number(process.argv[3] ?? 3000);
const r = runCelDifferential(seed, count);
for (const e of r.examples) console.log(e);
console.log(
  `seed ${seed}: ${r.expressions} expressions, ${r.cases} evaluations, native answered ${r.decided} (${((100 * r.decided) / Math.max(1, r.cases)).toFixed(0)}%), mismatches ${r.mismatches}`,
);
process.exitCode = r.mismatches === 0 ? 0 : 1;
