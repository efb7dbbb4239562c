import { z } from 'zod';
import { DURATION_PATTERN } from '../core/policy/duration.js';

/**
 * The tenant section `siem` of `warden.yaml`: where the tenant's decided
 * changes and alerts stream as OCSF events (docs/siem.md).
 */
export const SiemOcsfSink = z
  .object({
    url: z
      .url()
      .describe(
        "HTTP endpoint that receives OCSF 1.8.0 events as NDJSON (`POST`, `content-type: application/x-ndjson`), e.g. a collector's HTTP input (`https:`; `http:` only to localhost)",
      ),
    secret: z
      .string()
      .regex(/^[a-zA-Z][a-zA-Z0-9_]*$/, 'the name of a tenant secret (tenants[].secrets)')
      .optional()
      .describe('Tenant secret sent as `authorization: Bearer <secret>`. Default: no authorization header'),
    batchSize: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(100)
      .describe('Audit records read per POST (records with no OCSF class are skipped, so a POST may hold fewer events). Default `100`'),
    timeout: z.string().regex(DURATION_PATTERN, 'a duration such as 10s').default('10s').describe('Time allowed for the endpoint to answer. Default `10s`'),
  })
  .strict();
export type SiemOcsfSink = z.infer<typeof SiemOcsfSink>;

export const SiemConfig = z
  .object({
    ocsf: SiemOcsfSink.optional().describe(
      'Stream decided changes (Account Change 3001) and alerts (Detection Finding 2004) to a SIEM, from the first audit record on, retried with backoff until delivered',
    ),
  })
  .strict()
  .optional()
  .describe('SIEM export of the tenant (docs/siem.md)');
export type SiemConfig = z.infer<typeof SiemConfig>;
