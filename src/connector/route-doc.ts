/** The name of a schema under components/schemas: one of API_SCHEMAS, or one a connector adds. */
type SchemaName = string;

/**
 * One documented route, Warden's or a connector's (`routes`), rendered into
 * /openapi.json by src/server/openapi.ts: its bodies name schemas of
 * API_SCHEMAS (or of a connector).
 */
export interface RouteDoc {
  method: 'get' | 'post';
  path: string;
  summary: string;
  description?: string;
  tags: string[];
  /** Needs an API key. */
  auth?: boolean;
  /** How the caller authenticates, when not just an API key: `idpToken` (a person's OIDC token), `webhookSignature` (Standard Webhooks). */
  security?: ReadonlyArray<'apiKey' | 'idpToken' | 'webhookSignature'>;
  /** Schema (an object) whose properties are the query parameters. */
  query?: SchemaName;
  requestBody?: SchemaName;
  /** Query and path parameters (path parameters are also named in `path` as `:name`). */
  parameters?: Array<{ name: string; in: 'query' | 'path'; required?: boolean; description: string; schema: Record<string, unknown> }>;
  /** Content type of the request body (default application/json). */
  requestContentType?: string;
  responses: Record<number, { description: string; schema?: SchemaName; contentType?: string }>;
}
