import { z } from 'zod';
import { ChangeKind, Channel, TenantId } from './identity-change.js';

/**
 * Alerts (design §6): changes that are each plausible alone but together
 * match a detection rule. src/detect raises them; policy sees the open ones
 * as `context.alerts` (AlertRef); the API lists them. Matches on the same key
 * close in time are grouped into one alert, so one attack on one person is
 * one alert however many rules it trips.
 */

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export const Severity = z.enum(SEVERITIES).describe('low < medium < high < critical');
export type Severity = z.infer<typeof Severity>;

const IsoTime = z.iso.datetime({ offset: true });

/** One change that formed an alert: enough to find it (`id`, vendor event ids) and to read the story. */
export const AlertChange = z
  .object({
    id: z
      .string()
      .describe(
        'The IdentityChange id. A signal (kind `mfa.denied` or `mfa.verified`: an MFA challenge outcome) is not stored as a change and has no decision: find it in the IdP by `eventIds`',
      ),
    kind: ChangeKind,
    channel: Channel,
    occurredAt: IsoTime.describe('When the IdP says it happened'),
    idp: z.string().describe('Source IdP: okta, entra, m365, …'),
    eventIds: z.array(z.string()).describe('Vendor event ids it was built from'),
    rawType: z.string().describe('Vendor event type'),
    targetId: z.string().describe('IdP id of the target'),
    target: z.string().describe('Target login (or id)'),
    actor: z.string().describe('Actor login (or id)'),
    coveredBy: z
      .string()
      .optional()
      .describe('The approved change request that covered this change (matched to it, or executed by Warden in broker mode): approved work, still correlated'),
  })
  .strict();
export type AlertChange = z.infer<typeof AlertChange>;

/** One rule match inside an alert. */
export const AlertMatch = z
  .object({
    rule: z.string(),
    title: z.string(),
    severity: Severity,
    attack: z.array(z.string()).describe('MITRE ATT&CK technique ids'),
    at: IsoTime.describe('When Warden found the match'),
    changeIds: z.array(z.string()).describe('The changes that formed this match, in event-time order'),
  })
  .strict();
export type AlertMatch = z.infer<typeof AlertMatch>;

export const AlertStatus = z.enum(['open', 'closed']);

export const Alert = z
  .object({
    id: z.uuid(),
    tenant: TenantId,
    key: z
      .string()
      .describe("What the rules correlated on: a person's canonical identity (login / UPN / email, lower case, aliases applied), or another key a rule names"),
    rule: z.string().describe('The rule of the most severe match (the first, among equals)'),
    title: z.string(),
    severity: Severity.describe('The highest severity among the matches'),
    status: AlertStatus,
    summary: z.string().describe('What happened, for people'),
    matches: z.array(AlertMatch).min(1),
    changes: z.array(AlertChange).min(1).describe('Every change of every match, in event-time order'),
    firstAt: IsoTime.describe('Event time of the earliest change'),
    lastAt: IsoTime.describe('Event time of the latest change'),
    raisedAt: IsoTime,
    updatedAt: IsoTime,
    rulesVersion: z.string().describe('Content hash of the rule pack that raised it'),
    closed: z
      .object({ at: IsoTime, by: z.object({ type: z.string(), id: z.string(), name: z.string().optional() }), reason: z.string() })
      .strict()
      .optional(),
  })
  .strict()
  .describe('A detection alert');
export type Alert = z.infer<typeof Alert>;
