import type { IncomingMessage, ServerResponse } from 'node:http';
import { WardenError } from '../core/errors.js';
import type { ConnectorContext, RawRoute, Connector } from '../connector/contract.js';
import type { Logger } from '../runtime/logger.js';
import type { Metrics } from '../runtime/metrics.js';
import { writeRawProblem } from './raw-problem.js';

/**
 * Dispatch of connectors' raw routes (src/connector/contract.ts, `RawRoute`):
 * requests whose method and path match one are handled on plain `node:http`;
 * everything else goes to express. Timed into the same latency histogram,
 * errors answered as problem responses. Paths match as express matches them:
 * case-insensitively, with or without a trailing slash; a GET route answers
 * HEAD too (node:http sends no body for HEAD).
 */

/** Shared by requests without a query string (handlers only read it). */
const NO_QUERY = new URLSearchParams();

interface Compiled {
  method: string;
  path: string;
  pattern: RegExp;
  keys: string[];
  route: RawRoute;
}

function compile(route: RawRoute): Compiled {
  const keys: string[] = [];
  const source = route.path
    .split('/')
    .map((segment) => {
      if (!segment.startsWith(':')) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      keys.push(segment.slice(1));
      return '([^/]+)';
    })
    .join('/');
  return { method: route.method, path: route.path, pattern: new RegExp(`^${source}/?$`, 'i'), keys, route };
}

/**
 * A request listener that serves the connectors' raw routes and hands every
 * other request to `fallback` (the express app).
 */
export function rawRouteListener(
  connectors: readonly Connector[],
  deps: { context: () => ConnectorContext; metrics: Metrics; log: Logger },
  fallback: (req: IncomingMessage, res: ServerResponse) => void,
): (req: IncomingMessage, res: ServerResponse) => void {
  const routes = connectors.flatMap((p) => (p.rawRoutes ?? []).map(compile));
  if (routes.length === 0) return fallback;
  return (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const pathname = q < 0 ? url : url.slice(0, q);
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    for (const r of routes) {
      if (r.method !== method) continue;
      const m = r.pattern.exec(pathname);
      if (!m) continue;
      const end = deps.metrics.httpDuration.startTimer();
      res.once('finish', () => end({ method: req.method!, route: r.path, status: String(res.statusCode) }));
      const params: Record<string, string> = {};
      try {
        for (let i = 0; i < r.keys.length; i++) params[r.keys[i]!] = decodeURIComponent(m[i + 1]!);
      } catch {
        writeRawProblem(res, new WardenError('ERR_VALIDATION', 'malformed path'), deps.log, r.path);
        return;
      }
      r.route
        .handle(req, res, { params, query: q < 0 ? NO_QUERY : new URLSearchParams(url.slice(q + 1)) }, deps.context())
        .catch((err: unknown) => writeRawProblem(res, err, deps.log, r.path));
      return;
    }
    fallback(req, res);
  };
}
