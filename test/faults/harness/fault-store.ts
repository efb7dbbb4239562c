import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { runViaAdminSocket } from '../../../src/cli/admin-client.js';
import { adminSocketPath } from '../../../src/server/admin-socket.js';
import { openPostgresStore } from '../../../src/store/postgres-store.js';
import type { Store } from '../../../src/store/store.js';
import { EXAMPLE_POLICY_FILE } from '../../helpers/policies.js';

/** Which store a scenario runs on. */
export type StoreKind = 'pglite' | 'postgres';

/** One parsed audit record. */
export interface AuditRecord {
  type: string;
  subject: Record<string, string>;
  data: Record<string, unknown>;
}

/** The admin database the suite creates its scenario databases from. */
export function adminDatabaseUrl(): string {
  return process.env.WARDEN_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
}

/** Whether PostgreSQL answers at `adminDatabaseUrl()`. */
export async function postgresAvailable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: adminDatabaseUrl(), connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

let databases = 0;

/**
 * A scenario's working directory and store: an embedded PGlite data
 * directory under it, or a fresh PostgreSQL database `warden_faults_<pid>_<n>`
 * created for the scenario and dropped by `dispose()`.
 */
export class FaultStore {
  readonly dir: string;
  readonly databaseUrl: string | undefined;
  readonly databaseName: string | undefined;
  #reader: Store | undefined;

  private constructor(
    readonly kind: StoreKind,
    dir: string,
    databaseName?: string,
  ) {
    this.dir = dir;
    this.databaseName = databaseName;
    if (databaseName) {
      const url = new URL(adminDatabaseUrl());
      url.pathname = `/${databaseName}`;
      this.databaseUrl = url.toString();
    }
  }

  static async create(kind: StoreKind, scenario: string): Promise<FaultStore> {
    const dir = mkdtempSync(path.join(tmpdir(), `warden-fault-${scenario}-`));
    if (kind === 'pglite') return new FaultStore(kind, dir);
    const name = `warden_faults_${process.pid}_${++databases}`;
    await adminQuery(`CREATE DATABASE ${name}`);
    return new FaultStore(kind, dir, name);
  }

  /** Where the embedded store lives (PGlite). */
  get dataDir(): string {
    return path.join(this.dir, 'data');
  }

  /** Environment for a Warden process on this store. */
  env(): NodeJS.ProcessEnv {
    return this.databaseUrl ? { DATABASE_URL: this.databaseUrl } : {};
  }

  /**
   * Writes warden.yaml in the scenario directory: the example policy for each
   * tenant, `durability: full` (the default), warnings-only logs, and the
   * given YAML for each tenant's connector sections (and `top`, top-level
   * YAML such as `retries: …`).
   */
  writeConfig(tenants: ReadonlyArray<{ id: string; yaml: string }>, fileName = 'warden.yaml', top = ''): string {
    mkdirSync(path.join(this.dir, 'policies'), { recursive: true });
    let yaml = `listen: { host: 127.0.0.1, port: 0 }\ndataDir: data\nlog: { level: warn }\n${top}tenants:\n`;
    for (const t of tenants) {
      const policy = readFileSync(EXAMPLE_POLICY_FILE, 'utf8').replace(/^tenant: acme$/m, `tenant: ${t.id}`);
      writeFileSync(path.join(this.dir, 'policies', `${t.id}.yaml`), policy);
      yaml += `  - id: ${t.id}\n    policy: policies/${t.id}.yaml\n${t.yaml}`;
    }
    const file = path.join(this.dir, fileName);
    writeFileSync(file, yaml);
    return file;
  }

  /**
   * Every audit record of a tenant, read while Warden runs: through the
   * running server's admin socket (PGlite: one process per data directory)
   * or straight from PostgreSQL.
   */
  async audit(tenant: string): Promise<AuditRecord[]> {
    const lines: string[] = [];
    if (this.kind === 'pglite') {
      let buffer = '';
      const code = await runViaAdminSocket(adminSocketPath(this.dataDir), 'audit.export', { tenant }, 'fault-suite', {
        out: (s: string) => void (buffer += s),
        err: () => undefined,
      });
      if (code !== 0) throw new Error(`audit export answered exit code ${code}`);
      lines.push(...buffer.split('\n').filter(Boolean));
      return lines.map((l) => (JSON.parse(l) as { record: AuditRecord }).record);
    }
    this.#reader ??= await openPostgresStore({ url: this.databaseUrl!, poolSize: 2 });
    const records: AuditRecord[] = [];
    for (let seq = 0; ; ) {
      const rows = await this.#reader.readAudit(tenant, seq, 1000);
      for (const row of rows) {
        seq = row.seq;
        records.push(JSON.parse(row.record) as AuditRecord);
      }
      if (rows.length < 1000) return records;
    }
  }

  /** Runs a query on the scenario's PostgreSQL database (store inspection: leases, migrations). */
  async query<R extends Record<string, unknown>>(sql: string): Promise<R[]> {
    if (!this.databaseUrl) throw new Error('query() needs a PostgreSQL scenario');
    const client = new pg.Client({ connectionString: this.databaseUrl, connectionTimeoutMillis: 5000 });
    await client.connect();
    try {
      return (await client.query<R>(sql)).rows;
    } finally {
      await client.end();
    }
  }

  /** Closes the reader, drops the database, removes the directory (kept, with the servers' logs, when `keep` or WARDEN_FAULTS_KEEP=1). */
  async dispose(keep = false): Promise<void> {
    await this.#reader?.close().catch(() => undefined);
    this.#reader = undefined;
    if (this.databaseName) await adminQuery(`DROP DATABASE IF EXISTS ${this.databaseName} WITH (FORCE)`);
    if (keep) process.stderr.write(`fault suite: kept ${this.dir} (logs of the Warden processes)\n`);
    else if (process.env.WARDEN_FAULTS_KEEP !== '1') rmSync(this.dir, { recursive: true, force: true });
  }
}

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminDatabaseUrl(), connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
