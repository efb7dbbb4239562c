import net from 'node:net';

/** A TCP proxy on 127.0.0.1 whose link to the target can be cut or stalled on command. */
export interface TcpProxy {
  /** Port the proxy listens on (127.0.0.1). */
  port: number;
  /** `host:port` of the proxy, to put in a URL in place of the target's. */
  address: string;
  /**
   * Cuts the link: every open connection is reset (RST, as a dead server or
   * a failover looks to the client), and new connections are reset at once,
   * until `resume()`.
   */
  cut(): void;
  /**
   * Stalls the link: open and new connections stay up but no byte crosses
   * in either direction (a hung server, a black-holed network), until
   * `resume()`, which delivers what was held.
   */
  stall(): void;
  /** Back to forwarding: new connections go through, stalled bytes flow. */
  resume(): void;
  /** Connections currently open through the proxy. */
  connections(): number;
  /** Stops listening and resets every open connection. */
  close(): Promise<void>;
}

interface Link {
  client: net.Socket;
  upstream: net.Socket;
  /** Bytes held while stalled, per direction. */
  held: { toUpstream: Buffer[]; toClient: Buffer[] };
}

/**
 * Starts a TCP proxy in front of `target` (for fault tests: PostgreSQL, an
 * IdP simulator) that a test can cut and stall.
 *
 * @example
 * const proxy = await startTcpProxy({ target: { host: '127.0.0.1', port: 5432 } });
 * const url = `postgres://postgres@${proxy.address}/test`;
 * proxy.cut(); // … the store is gone …
 * proxy.resume();
 * await proxy.close();
 */
export async function startTcpProxy(options: { target: { host: string; port: number } }): Promise<TcpProxy> {
  let mode: 'forward' | 'cut' | 'stall' = 'forward';
  const links = new Set<Link>();

  const destroy = (link: Link) => {
    links.delete(link);
    link.client.resetAndDestroy();
    link.upstream.resetAndDestroy();
  };

  const server = net.createServer((client) => {
    client.on('error', () => undefined);
    if (mode === 'cut') {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(options.target);
    upstream.on('error', () => undefined);
    const link: Link = { client, upstream, held: { toUpstream: [], toClient: [] } };
    links.add(link);
    const forward = (to: net.Socket, held: Buffer[]) => (chunk: Buffer) => {
      if (mode === 'stall') held.push(chunk);
      else if (mode === 'forward') to.write(chunk);
    };
    client.on('data', forward(upstream, link.held.toUpstream));
    upstream.on('data', forward(client, link.held.toClient));
    const end = () => {
      if (links.delete(link)) {
        client.destroy();
        upstream.destroy();
      }
    };
    client.on('close', end);
    upstream.on('close', end);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;

  return {
    port,
    address: `127.0.0.1:${port}`,
    cut() {
      mode = 'cut';
      for (const link of [...links]) destroy(link);
    },
    stall() {
      if (mode === 'forward') mode = 'stall';
    },
    resume() {
      mode = 'forward';
      for (const link of links) {
        for (const chunk of link.held.toUpstream.splice(0)) link.upstream.write(chunk);
        for (const chunk of link.held.toClient.splice(0)) link.client.write(chunk);
      }
    },
    connections: () => links.size,
    async close() {
      for (const link of [...links]) destroy(link);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
