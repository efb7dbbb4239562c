import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { LogEventSim } from '../../../connectors/okta/simulator/okta-simulator.js';
import { within } from './deadline.js';

/** One Okta event hook delivery the suite sends, and what became of it. */
export interface Delivery {
  event: LogEventSim;
  body: string;
  /** HTTP attempts made (a connection error or a 5xx is tried again). */
  attempts: number;
  acked: boolean;
  /** Statuses Warden answered, in order (`error` for a connection failure). */
  answers: Array<number | 'error'>;
}

/**
 * The event hook envelope Okta POSTs (research okta.md §1; the same shape the
 * Okta simulator sends), carrying one LogEvent the simulator recorded.
 */
export function oktaDelivery(event: LogEventSim, source: string): Delivery {
  const body = JSON.stringify({
    eventType: 'com.okta.event_hook',
    eventTypeVersion: '1.0',
    cloudEventsVersion: '0.1',
    source,
    eventId: randomUUID(),
    eventTime: event.published,
    contentType: 'application/json',
    data: { events: [event] },
  });
  return { event, body, attempts: 0, acked: false, answers: [] };
}

/** Where deliveries go; `ready()` resolves when the server can take them again (after a restart). */
export interface HookTarget {
  url(): string;
  secret: string;
  ready(): Promise<void>;
}

function post(agent: http.Agent, url: string, secret: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', accept: 'application/json', authorization: secret, 'content-length': Buffer.byteLength(body) },
        timeout: 30_000,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Sends every delivery with `concurrency` connections, Okta's way but more
 * stubborn (`to` may name a server per delivery): a delivery not acknowledged (connection error, 5xx) waits for
 * `target.ready()` and is sent again, until Warden answers 200 or 4xx.
 * `onAck` runs after each acknowledgement (the scenario kills the server
 * from there). Bounded by `timeoutMs`.
 */
export async function sendDeliveries(
  deliveries: Delivery[],
  to: HookTarget | ((index: number) => HookTarget),
  options: { concurrency: number; timeoutMs: number; path: string; onAck?: (acked: number) => void },
): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency });
  let next = 0;
  let acked = 0;
  const worker = async () => {
    for (;;) {
      const index = next++;
      const d = deliveries[index];
      if (!d) return;
      const target = typeof to === 'function' ? to(index) : to;
      for (;;) {
        d.attempts++;
        let status: number | 'error';
        try {
          status = await post(agent, target.url() + options.path, target.secret, d.body);
        } catch {
          status = 'error';
        }
        d.answers.push(status);
        if (status === 200) {
          d.acked = true;
          options.onAck?.(++acked);
          break;
        }
        if (typeof status === 'number' && status < 500) break; // refused for good: not acknowledged, not retried
        await target.ready();
      }
    }
  };
  try {
    await within(`sending ${deliveries.length} deliveries`, options.timeoutMs, Promise.all(Array.from({ length: options.concurrency }, worker)));
  } finally {
    agent.destroy();
  }
}
