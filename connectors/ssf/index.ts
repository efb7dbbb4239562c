import type { RouteDoc } from '../../src/connector/index.js';
import type { ConnectorContext, Connector } from '../../src/connector/index.js';
import { registerSsfCommands, ssfOperations } from './commands.js';
import { ssfInboxHandler } from './inbox-handler.js';
import { PUSH_PATH, pushReceiver, SsfReceiver, startPollClients } from './receiver.js';
import { activeKey } from './signing-keys.js';
import { SsfTenantConfig } from './ssf-config.js';
import { SsfTenants } from './ssf-tenant.js';
import { mountTransmitter } from './transmitter-routes.js';
import { SsfTransmitter } from './transmitter.js';

const problem = (description: string) => ({ description, schema: 'Problem', contentType: 'application/problem+json' });

const ROUTES: RouteDoc[] = [
  {
    method: 'get',
    path: '/.well-known/ssf-configuration/ssf/:tenant',
    summary:
      'SSF transmitter configuration metadata (SSF 1.0 "Transmitter Configuration Discovery"): issuer, jwks_uri, delivery methods, stream management endpoints',
    tags: ['ssf'],
    responses: { 200: { description: 'Transmitter configuration (application/json)' }, 404: problem('No ssf.transmitter for the tenant') },
  },
  {
    method: 'get',
    path: '/ssf/:tenant/jwks.json',
    summary: "The transmitter's signing keys (JWKS), current and recently retired",
    tags: ['ssf'],
    responses: { 200: { description: 'JWKS' } },
  },
  {
    method: 'post',
    path: '/ssf/:tenant/stream',
    summary:
      'Create a stream (SSF 1.0 "Creating a Stream"); GET reads one (?stream_id) or all, PATCH updates, PUT replaces, DELETE deletes. Bearer token of a configured receiver',
    tags: ['ssf'],
    responses: {
      201: { description: 'Stream configuration' },
      400: problem('Invalid stream configuration'),
      401: problem('Missing or unknown bearer token'),
      404: problem('Unknown stream (stream_id)'),
    },
  },
  {
    method: 'post',
    path: '/ssf/:tenant/status',
    summary: 'Update a stream\'s status: enabled, paused, disabled (SSF 1.0 "Stream Status"); GET reads it',
    tags: ['ssf'],
    responses: {
      200: { description: '{ stream_id, status, reason }' },
      401: problem('Missing or unknown bearer token'),
      404: problem('Unknown stream (stream_id)'),
    },
  },
  {
    method: 'post',
    path: '/ssf/:tenant/verify',
    summary: 'Queue a verification event on a stream (SSF 1.0 "Triggering a Verification Event")',
    tags: ['ssf'],
    responses: { 204: { description: 'Queued' }, 401: problem('Missing or unknown bearer token'), 404: problem('Unknown stream (stream_id)') },
  },
  {
    method: 'post',
    path: '/ssf/:tenant/poll/:stream',
    summary: 'Poll delivery (RFC 8936): ack, setErrs, maxEvents, returnImmediately → { sets, moreAvailable }',
    tags: ['ssf'],
    responses: {
      200: { description: '{ sets: { jti: SET }, moreAvailable }' },
      401: problem('Missing or unknown bearer token'),
      404: problem('Unknown stream'),
    },
  },
  {
    method: 'post',
    path: PUSH_PATH,
    summary: "Push delivery of a SET to Warden's receiver (RFC 8935): application/secevent+jwt, 202 when stored",
    tags: ['ssf'],
    requestContentType: 'application/secevent+jwt',
    responses: {
      202: { description: 'Verified and stored' },
      400: { description: 'RFC 8935 error { err, description }' },
      401: { description: '{ err: authentication_failed }' },
      404: problem('Unknown tenant or transmitter'),
    },
  },
];

/** Options for tests: how often the transmitter's loops look for work nobody woke them for. */
export interface SsfConnectorOptions {
  idleMs?: number;
}

/**
 * The Shared Signals connector (OpenID SSF 1.0, CAEP 1.0, RISC 1.0): Warden
 * as a transmitter (discovery, JWKS with rotation, stream management, push
 * and poll delivery of SETs for its decisions, revocations and holds) and as
 * a receiver (push endpoint, poll client; SETs become identity changes).
 * Guide: docs/ssf.md.
 */
export function ssfConnector(options: SsfConnectorOptions = {}): Connector {
  const tenants = new SsfTenants();
  const transmitter = new SsfTransmitter(tenants);
  const receiver = new SsfReceiver();
  return {
    name: 'ssf',
    description: 'OpenID Shared Signals: CAEP / RISC transmitter (push and poll) and receiver',
    tenantConfig: SsfTenantConfig,
    routes: ROUTES,
    mount(router, ctx: ConnectorContext) {
      // Read every tenant's secrets now: a missing one stops the start, not the first request.
      for (const id of tenants.ids(ctx.config)) tenants.find(ctx.config, id);
      mountTransmitter(router, ctx, tenants, transmitter);
    },
    rawRoutes: [pushReceiver(tenants, receiver)],
    inbox: ssfInboxHandler,
    async start(ctx) {
      for (const id of tenants.ids(ctx.config)) {
        const t = tenants.find(ctx.config, id)?.transmitter;
        if (!t) continue;
        const runtime = await t;
        try {
          activeKey(runtime.keys, id, ctx.clock());
        } catch (err) {
          // Said once at start, loudly; SETs wait in the queue until a valid key is configured.
          ctx.log.error({ tenant: id }, (err as Error).message);
        }
      }
      const sending = transmitter.start(ctx, options.idleMs ?? 1000);
      const polling = startPollClients(tenants, receiver, ctx);
      return {
        async stop() {
          await polling.stop();
          await sending.stop();
        },
      };
    },
    operations: ssfOperations(tenants),
    commands: (program, cli) => registerSsfCommands(program, cli),
  };
}

/** The SSF connector, as connectors/index.ts lists it. */
export const ssf: Connector = ssfConnector();
