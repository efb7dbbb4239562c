import { defineConfig } from 'vitest/config';

/**
 * Files under test/ that behave like unit tests (read files, compile policies, check documents; no server, no
 * process, no stubbed environment or intercepted HTTP): they run with the unit tests, in one process.
 */
const inProcess = [
  'test/architecture/**/*.test.ts',
  'test/policy/**/*.test.ts',
  'test/infra/{node-engines,kubernetes,entra-terraform}.test.ts',
  'test/detect/{corpus-agreement,shipped-rule-cases}.test.ts',
  'test/ssf/{spec-examples,verify-set}.test.ts',
];

/** What both projects share. The global setup is the root's alone: it runs once per run and both projects inherit what it provides. */
const shared = {
  pool: 'forks',
  testTimeout: 30_000,
  hookTimeout: 60_000,
} as const;

export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    // PGlite boots a PostgreSQL per test file; two cores run two files at a time.
    maxWorkers: 2,
    reporters: ['default'],
    projects: [
      {
        // Unit tests beside the code: one worker process runs file after file (no fresh process and module graph per
        // file). Loading the app's modules again for each of some seventy small files cost more CPU than their tests.
        // They start no servers and change no process-wide state they do not put back (docs/development.md).
        test: { ...shared, name: 'unit', include: ['src/**/*.test.ts', 'connectors/**/*.test.ts', ...inProcess], isolate: false },
      },
      {
        // Integration and end-to-end tests: a fresh process per file (they stub the environment, intercept HTTP with
        // nock, start servers and processes).
        test: { ...shared, name: 'integration', include: ['test/**/*.test.ts'], exclude: inProcess, isolate: true },
      },
    ],
  },
});
