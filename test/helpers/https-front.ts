import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

/**
 * An HTTPS front for Warden (TLS termination, as an ingress does): Graph only
 * calls https:// URLs, so its notifications reach a test's Warden through
 * this. Shared by the vitest Entra harness and the fault suite (no vitest
 * import here: the fault suite runs under tsx).
 */
/** Starts the front on 127.0.0.1, forwarding to whatever `target` was last given (502 until then). */
export async function httpsFront(tls: { cert: string; key: string }): Promise<{ url: string; target(url: string): void; close(): Promise<void> }> {
  let target = '';
  // Kept-alive connections to Warden, as an ingress keeps them: a stream of notifications pays no handshake each.
  const agent = new http.Agent({ keepAlive: true });
  const server = https.createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    const upstream = new URL(req.url ?? '/', target || 'http://127.0.0.1:9');
    const forward = http.request(upstream, { agent, method: req.method, headers: { ...req.headers, host: upstream.host } }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    forward.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    target: (url) => {
      target = url;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}
