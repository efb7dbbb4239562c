import { z } from 'zod';
import { Alert } from '../core/alert.js';
import { Decision } from '../core/decision.js';
import { ChangeInput, TenantId } from '../core/identity-change.js';
import { Problem } from './problem.js';
import { RequestListQuery, WORKFLOW_SCHEMAS } from '../requests/request-api-schemas.js';

/**
 * Request and response bodies of the HTTP API. Handlers validate with these
 * and /openapi.json is generated from them: the document cannot drift from
 * what the server accepts.
 */

export const DecisionRequest = z
  .object({
    tenant: TenantId,
    change: ChangeInput,
  })
  .strict()
  .describe('A proposed identity change to decide');
export type DecisionRequest = z.infer<typeof DecisionRequest>;

export const DecisionResponse = Decision.omit({ id: true }).extend({ decisionId: z.uuid() }).describe('The decision, with the rules that matched and why');
export type DecisionResponse = z.infer<typeof DecisionResponse>;

export const HealthResponse = z.object({ status: z.literal('ok') }).describe('The process is alive');

const Check = z.object({ ok: z.boolean(), detail: z.string() });
export const ReadyResponse = z
  .object({
    status: z.enum(['ready', 'not_ready']),
    checks: z.object({ store: Check, migrations: Check, policies: Check }),
  })
  .describe('Whether the server can decide: store reachable, migrations applied, every tenant has a policy');

export const TenantQuery = z.object({ tenant: TenantId.optional().describe("Tenant; default the caller's") }).describe('Query of tenant-scoped reads');
export const ReviewQuery = TenantQuery.extend({ state: z.enum(['open', 'done', 'overdue']).optional() }).describe('Query of the review list');
export const ReportQuery = TenantQuery.extend({
  since: z.string().optional().describe('A duration back from now (30d, default) or an ISO 8601 time'),
  until: z.string().optional().describe('Same forms; default now'),
  format: z.enum(['json', 'csv']).optional(),
}).describe('Query of the accountability report');
export const AlertList = z
  .object({
    alerts: z.array(Alert).describe('Newest first'),
    next: z.string().optional().describe('Cursor of the next page: pass it as `before`; absent on the last page'),
  })
  .describe('A page of detection alerts');
export type AlertList = z.infer<typeof AlertList>;

/** Every named schema of the API, as it appears under components/schemas. */
export const API_SCHEMAS = {
  Alert,
  AlertList,
  DecisionRequest,
  DecisionResponse,
  HealthResponse,
  ReadyResponse,
  Problem,
  ...WORKFLOW_SCHEMAS,
  RequestListQuery,
  TenantQuery,
  ReviewQuery,
  ReportQuery,
} as const;
