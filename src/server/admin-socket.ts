import { createHash } from 'node:crypto';
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { runOperation, type OpContext, type OperationRegistry } from '../connector/operation.js';
import { isWardenError } from '../core/errors.js';
import type { Logger } from '../runtime/logger.js';

/** Unix socket paths are limited to ~107 bytes; long data directories get a socket in the temp directory. */
export function adminSocketPath(dataDir: string): string {
  const inDir = path.join(dataDir, 'admin.sock');
  if (Buffer.byteLength(inDir) <= 100) return inDir;
  return path.join(tmpdir(), `warden-${createHash('sha256').update(dataDir).digest('hex').slice(0, 16)}.sock`);
}

const OpRequest = z.object({
  args: z.unknown(),
  actor: z.object({ type: z.literal('cli'), id: z.string().min(1).max(200) }),
});

/**
 * Serves the CLI's administrative operations on a Unix socket readable only
 * by the server's OS user (mode 0600). While the server holds the embedded
 * store, `warden audit verify`, `warden keys …` run here instead of opening
 * the store a second time. Responses stream as JSON lines:
 * `{"out":…}`, `{"err":…}`, then `{"exit":n}` or `{"error":{code,message}}`.
 */
export async function serveAdminSocket(
  socketPath: string,
  registry: OperationRegistry,
  ctx: Omit<OpContext, 'out' | 'err' | 'actor'>,
  log: Logger,
): Promise<{ close(): Promise<void> }> {
  if (existsSync(socketPath)) unlinkSync(socketPath); // ours from a crashed run: we hold the data-dir lock
  const server = http.createServer((req, res) => {
    const name = /^\/ops\/([a-z0-9.-]+)$/.exec(req.url ?? '')?.[1];
    if (req.method !== 'POST' || !name || !registry.has(name)) {
      res.writeHead(404).end();
      return;
    }
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > 65_536) req.destroy();
    });
    req.on('end', async () => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      const send = (line: unknown) =>
        new Promise<void>((resolve) => {
          if (res.write(JSON.stringify(line) + '\n')) resolve();
          else res.once('drain', resolve);
        });
      try {
        const request = OpRequest.parse(JSON.parse(body));
        log.info({ op: name, actor: request.actor.id }, 'admin operation');
        const exit = await runOperation(
          registry,
          name,
          { ...ctx, actor: request.actor, out: (text: string) => send({ out: text }), err: (text: string) => void send({ err: text }) },
          request.args,
        );
        await send({ exit });
      } catch (err) {
        await send({ error: { code: isWardenError(err) ? err.code : 'ERR_INTERNAL', message: (err as Error).message } });
      }
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  chmodSync(socketPath, 0o600);
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
