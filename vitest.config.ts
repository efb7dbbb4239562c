import { defineConfig } from 'vitest/config';

/**
 * Files under test/ that run in the shared process with the unit tests. Each starts only in-process servers and
 * stores (startTestApp, startWorkflowServer, pgliteTestStore, …), closes them in afterAll, and puts back what it
 * changes process-wide (nock's net connect, stubbed environment variables). Checked by running them all in one
 * process per worker (`npx vitest run --project shared`). Files that spawn processes, drive a browser, stub the
 * environment for a whole file, or run long end-to-end worlds stay in `own-process`.
 */
const sharedUnderTest = [
  'test/architecture/**/*.test.ts',
  'test/policy/**/*.test.ts',
  'test/infra/{node-engines,kubernetes,entra-terraform}.test.ts',
  'test/ssf/{spec-examples,verify-set}.test.ts',
  'test/detect/**/*.test.ts',
  'test/requests/**/*.test.ts',
  'test/notify/**/*.test.ts',
  'test/store/**/*.test.ts',
  'test/siem/**/*.test.ts',
  'test/contracts/**/*.test.ts',
  'test/server/**/*.test.ts',
  'test/connector/**/*.test.ts',
];

/** What both projects share. The global setup is the root's alone: it runs once per run and both projects inherit what it provides. */
const common = {
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
        // One worker process runs file after file (no fresh process and module graph per file): loading the app's
        // modules again for each small file cost more CPU than the files' tests (docs/development.md).
        test: { ...common, name: 'shared', include: ['src/**/*.test.ts', 'connectors/**/*.test.ts', ...sharedUnderTest], isolate: false },
      },
      {
        // A fresh process per file: the end-to-end worlds, the CLI and process tests, the browser, the Okta and SSF suites.
        test: { ...common, name: 'own-process', include: ['test/**/*.test.ts'], exclude: sharedUnderTest, isolate: true },
      },
    ],
  },
});
