import { z } from 'zod';
import { API_SCHEMAS } from './api-schemas.js';
import type { RouteDoc } from '../connector/route-doc.js';
import { WardenError } from '../core/errors.js';

export type { RouteDoc } from '../connector/route-doc.js';

const problem = (description: string) => ({ description, schema: 'Problem' as const, contentType: 'application/problem+json' });

/** Error responses shared by authenticated JSON routes. */
export const COMMON_ERRORS = {
  400: problem('Malformed JSON (ERR_BODY_MALFORMED) or schema violation (ERR_VALIDATION, with `issues`)'),
  401: problem('Missing (ERR_AUTH_REQUIRED) or invalid (ERR_AUTH_INVALID) API key'),
  403: problem('The API key belongs to another tenant or lacks the scope (ERR_FORBIDDEN)'),
  404: problem('Unknown tenant (ERR_TENANT_UNKNOWN)'),
  413: problem('Body larger than the configured limit (ERR_BODY_TOO_LARGE)'),
  415: problem('Body is not application/json (ERR_UNSUPPORTED_MEDIA_TYPE)'),
} as const;

/**
 * The OpenAPI 3.1 document, generated from the zod schemas the handlers
 * validate with (JSON Schema 2020-12 is OpenAPI 3.1's schema dialect).
 */
export function buildOpenApi(routes: readonly RouteDoc[], version: string, extraSchemas: Record<string, z.ZodType> = {}): Record<string, unknown> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries({ ...API_SCHEMAS, ...extraSchemas })) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, { target: 'draft-2020-12', uri: (id) => `#/components/schemas/${id}`, unrepresentable: 'any' });
  for (const s of Object.values(schemas)) delete (s as Record<string, unknown>).$schema;

  const ref = (name: string) => {
    if (!(name in schemas)) throw new WardenError('ERR_INTERNAL', `route documentation names an unknown schema ${name}`);
    return { $ref: `#/components/schemas/${name}` };
  };
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = route.path.replace(/:([a-zA-Z]+)/g, '{$1}');
    paths[path] ??= {};
    const parameters: Array<Record<string, unknown>> = [...route.path.matchAll(/:([a-zA-Z]+)/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    if (route.query) {
      const q = schemas[route.query] as { properties?: Record<string, unknown>; required?: string[] } | undefined;
      if (!q) throw new WardenError('ERR_INTERNAL', `route documentation names an unknown schema ${route.query}`);
      for (const [name, schema] of Object.entries(q.properties ?? {}))
        parameters.push({ name, in: 'query', required: q.required?.includes(name) ?? false, schema });
    }
    for (const p of route.parameters ?? []) {
      const param = { ...p, required: p.in === 'path' ? true : (p.required ?? false) };
      const i = parameters.findIndex((q) => q.name === p.name && q.in === p.in);
      if (i >= 0) parameters[i] = param;
      else parameters.push(param);
    }
    const security = route.security ? route.security.map((scheme) => ({ [scheme]: [] })) : route.auth ? [{ apiKey: [] }] : [];
    paths[path]![route.method] = {
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      tags: route.tags,
      security,
      ...(parameters.length ? { parameters } : {}),
      ...(route.requestBody
        ? { requestBody: { required: true, content: { [route.requestContentType ?? 'application/json']: { schema: ref(route.requestBody) } } } }
        : {}),
      responses: Object.fromEntries(
        Object.entries(route.responses).map(([status, r]) => [
          status,
          { description: r.description, ...(r.schema ? { content: { [r.contentType ?? 'application/json']: { schema: ref(r.schema) } } } : {}) },
        ]),
      ),
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Warden API',
      version,
      description: 'Admission control for high-risk identity changes (MFA factor and password resets) in Okta and Microsoft Entra ID.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    paths,
    components: {
      schemas,
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'A Warden API key (`wdn_…`), minted with `warden keys create --tenant T`' },
        idpToken: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            "A person's OIDC token from the tenant's IdP (`tenants[].oidc`); roles from its groups; approvals need a recent MFA sign-in (`auth_time`, `amr`)",
        },
        webhookSignature: {
          type: 'apiKey',
          in: 'header',
          name: 'webhook-signature',
          description: "Standard Webhooks signature (with `webhook-id` and `webhook-timestamp`) under the verifier's secret",
        },
      },
    },
  };
}
