import http from 'node:http';
import readline from 'node:readline';
import { WardenError, type WardenErrorCode } from '../core/errors.js';
import type { CliIo } from '../runtime/cli-io.js';

type Line = { out?: string; err?: string; exit?: number; error?: { code: WardenErrorCode; message: string } };

/**
 * Runs an administrative operation inside the running server through its
 * admin socket, relaying its output. Returns the operation's exit code.
 */
export async function runViaAdminSocket(socketPath: string, name: string, args: unknown, actorId: string, io: CliIo): Promise<number> {
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = http.request({ socketPath, path: `/ops/${name}`, method: 'POST', headers: { 'content-type': 'application/json' } }, resolve);
    req.on('error', (err) =>
      reject(new WardenError('ERR_STORE_LOCKED', `cannot reach the running server's admin socket ${socketPath}: ${err.message}`, { cause: err })),
    );
    req.end(JSON.stringify({ args, actor: { type: 'cli', id: actorId } }));
  });
  if (res.statusCode !== 200) {
    res.resume();
    throw new WardenError('ERR_INTERNAL', `the server's admin socket answered ${res.statusCode}`);
  }
  for await (const text of readline.createInterface({ input: res, crlfDelay: Infinity })) {
    if (!text) continue;
    const line = JSON.parse(text) as Line;
    if (line.out !== undefined) await io.out(line.out);
    if (line.err !== undefined) io.err(line.err);
    if (line.error) throw new WardenError(line.error.code, line.error.message);
    if (line.exit !== undefined) return line.exit;
  }
  throw new WardenError('ERR_INTERNAL', 'the server closed the admin socket before the operation finished');
}
