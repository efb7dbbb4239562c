import { z } from 'zod';
import { ChangeKind, TenantId } from './identity-change.js';
import { ProofingLevel } from './proofing.js';

/** Change request states (design §5). */
export const REQUEST_STATES = [
  'draft',
  'proofing',
  'pending_approval',
  'approved',
  'executed',
  'reviewed',
  'rejected',
  'expired',
  'cancelled',
] as const;
export const RequestState = z.enum(REQUEST_STATES);
export type RequestState = z.infer<typeof RequestState>;

const IsoTime = z.iso.datetime({ offset: true });

/**
 * What the policy core needs to know of a change request to judge a rule's
 * `require` block: a read-only snapshot. The workflow owns requests; the core
 * only checks them.
 */
export const RequestSnapshot = z
  .object({
    id: z.string().min(1),
    tenant: TenantId,
    state: RequestState,
    kind: ChangeKind,
    targetId: z.string().min(1),
    requesterId: z.string().min(1),
    executorId: z.string().min(1),
    proofing: z
      .object({
        level: ProofingLevel,
        method: z.string(),
        verifiedAt: IsoTime,
      })
      .strict()
      .optional(),
    ticket: z
      .object({
        system: z.enum(['servicenow', 'jira']),
        id: z.string(),
        state: z.string(),
      })
      .strict()
      .optional(),
    approvals: z
      .array(
        z
          .object({
            approverId: z.string().min(1),
            groups: z.array(z.string()).default([]),
            roles: z.array(z.string()).default([]),
            at: IsoTime,
          })
          .strict(),
      )
      .default([]),
    approvedAt: IsoTime.optional(),
    expiresAt: IsoTime.optional(),
    consumedAt: IsoTime.optional(),
    breakGlass: z
      .object({ reason: z.string().min(1) })
      .strict()
      .optional()
      .describe('Declared break-glass: the executor acts without proofing, ticket or approval, with a written reason; reviewed afterwards'),
    serviceIdentities: z
      .array(z.string().min(1))
      .optional()
      .describe('Identities that may perform the change on the executor\'s behalf (Warden\'s broker, an integration account); separation of duties still judges the executor'),
  })
  .strict();
export type RequestSnapshot = z.infer<typeof RequestSnapshot>;
