import net from 'node:net';
import type { TestProject } from 'vitest/node';
import { setupEntraTls } from './helpers/entra-tls.js';
import { makePgliteTemplate } from './helpers/pglite-template.js';

const DEFAULT_URL = 'postgres://postgres@127.0.0.1:5432/test';

function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 1000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Decides once which PostgreSQL the store contract suite runs against.
 * WARDEN_TEST_DATABASE_URL wins (CI sets it; the suite then fails if the
 * server is not there). Without it, a PostgreSQL listening on the default
 * local port is used; only on a machine with none is the PostgreSQL half
 * skipped, and it says so.
 */
export default async function setup(project: TestProject): Promise<void> {
  let url = process.env.WARDEN_TEST_DATABASE_URL;
  if (!url && (await reachable('127.0.0.1', 5432))) url = DEFAULT_URL;
  if (!url) {
    console.warn('\n[warden] No PostgreSQL at 127.0.0.1:5432 and WARDEN_TEST_DATABASE_URL is unset: the PostgreSQL store tests are SKIPPED on this machine.\n');
  }
  project.provide('postgresUrl', url ?? '');
  // The Entra simulator's HTTPS certificate, trusted by the workers through NODE_EXTRA_CA_CERTS.
  project.provide('entraTls', setupEntraTls());
  // One migrated embedded store, copied into each test's data directory instead of running initdb each time.
  project.provide('pgliteTemplate', await makePgliteTemplate());
}

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string;
    entraTls: { cert: string; key: string };
    pgliteTemplate: { dataDir: string; dump: string };
  }
}
