import type { Actor, ChangeKind, Channel, IdentityChange, Principal } from '../../src/core/identity-change.js';
import { uuidv7 } from '../../src/core/ids.js';
import type { NormalizeResult } from './normalize-directory-audit.js';
import { decodeJsonValue, field, isRecord, list, text, vendorTime, type VendorRecord } from './vendor-record.js';

/**
 * Office 365 Management Activity API records (the unified audit log's common
 * schema, office-365-management-activity-api-schema.md; entra.md §7) →
 * `IdentityChange`. Exchange inbox rules and mailbox forwarding
 * (`New-InboxRule`, `Set-InboxRule`, `Enable-InboxRule`, `UpdateInboxRules`,
 * `Set-Mailbox` with forwarding) become `mailbox.rule`, so detection sees
 * "new factor → password reset → forwarding rule". The Azure AD workload's
 * copy of per-user MFA changes ("Update user." with StrongAuthenticationMethod)
 * becomes a factor change. Keys are read case-insensitively (SIEM exports
 * lower-case them).
 */

export interface ActivityNormalizeOptions {
  tenant: string;
  via: IdentityChange['source']['via'];
  observedAt: Date;
}

/** Parameters of an Exchange admin record (`[{ Name, Value }]`) as a case-insensitive map. */
function parameters(record: VendorRecord, key = 'Parameters'): Map<string, string> {
  const out = new Map<string, string>();
  for (const p of list(record, key)) {
    const name = text(p, 'Name');
    const value = field(p, 'Value');
    if (name) out.set(name.toLowerCase(), value === null || value === undefined ? '' : String(value));
  }
  return out;
}

/** `smtp:a@b.com` / `SMTP:a@b.com;b@c.com` / `"a@b.com"` → addresses. */
function addresses(value: string | undefined): string[] {
  if (!value) return [];
  return value
    .split(/[;,]/)
    .map((s) =>
      s
        .trim()
        .replace(/^"|"$/g, '')
        .replace(/^smtp:/i, '')
        .replace(/^\[?ex:/i, ''),
    )
    .filter((s) => s.length > 0);
}

const domainOf = (address: string) => (address.includes('@') ? address.split('@').pop()!.toLowerCase() : undefined);

function principal(id: string): Principal {
  return {
    id,
    ...(id.includes('@') ? { login: id } : {}),
    groups: [],
    adminRoles: [],
    flags: { shared: false, executive: false, serviceAccount: false, breakGlass: false },
    attributes: {},
  };
}

/** UserType of the common schema: 0 Regular, 1 Reserved, 2 Admin, 3 DcAdmin, 4 System, 5 Application, 6 ServicePrincipal, 7 CustomPolicy, 8 SystemPolicy. */
function actorOf(record: VendorRecord): { actor: Actor; userType: number | undefined } {
  const id = text(record, 'UserId') ?? text(record, 'UserKey') ?? 'unknown';
  const userType = Number(field(record, 'UserType'));
  const type: Actor['type'] = userType === 4 ? 'system' : userType === 5 || userType === 6 ? 'service' : 'user';
  const ip = text(record, 'ClientIP', 'ClientIPAddress', 'ActorIpAddress');
  return {
    actor: { ...principal(id), type, ...(ip ? { ip: ip.slice(0, 64) } : {}) },
    userType: Number.isFinite(userType) ? userType : undefined,
  };
}

function channelOf(actorId: string, targetId: string, userType: number | undefined): Channel {
  const sameMailbox = actorId.toLowerCase() === targetId.toLowerCase() || actorId.toLowerCase().split('@')[0] === targetId.toLowerCase();
  if (sameMailbox) return 'self_service';
  if (userType === 4) return 'system';
  if (userType === 5 || userType === 6) return 'api';
  return 'admin';
}

const succeeded = (record: VendorRecord) => {
  const status = (text(record, 'ResultStatus') ?? '').toLowerCase();
  return status === '' || status === 'true' || status === 'success' || status === 'succeeded' || status === 'partiallysucceeded';
};

/** Normalizes one unified-audit record. */
export function normalizeManagementActivity(record: unknown, options: ActivityNormalizeOptions): NormalizeResult {
  if (!isRecord(record)) return { ignored: 'not a JSON object' };
  const operation = text(record, 'Operation') ?? '';
  const workload = (text(record, 'Workload') ?? '').toLowerCase();
  const id = text(record, 'Id');
  if (!id) return { ignored: `${operation || 'record'} has no Id` };
  if (!succeeded(record)) return { ignored: `${operation} did not succeed (ResultStatus ${text(record, 'ResultStatus')}): nothing changed` };
  const occurredAt = vendorTime(field(record, 'CreationTime'));
  if (!occurredAt) return { ignored: `${operation} has no readable CreationTime` };
  const { actor, userType } = actorOf(record);

  if (/^(userlog(ged)?in|userloginfailed|passwordlogon|.*logon.*)$/i.test(operation))
    return { ignored: `${operation} is a sign-in: Warden governs identity changes, not sign-ins` };

  let kind: ChangeKind;
  let targetId: string | undefined;
  const context: Record<string, string | number | boolean> = { o365Operation: operation.slice(0, 128), o365Workload: workload };

  if (workload === 'exchange') {
    const params = parameters(record);
    const op = operation.toLowerCase();
    if (op === 'new-inboxrule' || op === 'set-inboxrule' || op === 'enable-inboxrule') {
      kind = 'mailbox.rule';
      targetId = params.get('mailbox') || text(record, 'ObjectId')?.split('\\')[0] || actor.id;
      const forward = [...addresses(params.get('forwardto')), ...addresses(params.get('forwardasattachmentto')), ...addresses(params.get('redirectto'))];
      const rule = params.get('name') || params.get('identity');
      if (rule) context.ruleName = rule.slice(0, 256);
      if (forward.length) context.forwardTo = forward.join(', ').slice(0, 512);
      if ((params.get('deletemessage') ?? '').toLowerCase() === 'true') context.deleteMessage = true;
      if (params.get('movetofolder')) context.moveToFolder = params.get('movetofolder')!.slice(0, 256);
      markExternal(context, forward, [actor.id, targetId, text(record, 'OrganizationName')]);
    } else if (op === 'set-mailbox') {
      const smtp = params.get('forwardingsmtpaddress');
      const address = params.get('forwardingaddress');
      const hasForwardParam = params.has('forwardingsmtpaddress') || params.has('forwardingaddress') || params.has('delivertomailboxandforward');
      if (!hasForwardParam) return { ignored: 'Set-Mailbox without forwarding parameters' };
      const forward = [...addresses(smtp), ...addresses(address)];
      if (forward.length === 0) return { ignored: 'Set-Mailbox removed forwarding' };
      kind = 'mailbox.rule';
      targetId = params.get('identity') || text(record, 'ObjectId') || actor.id;
      context.forwardTo = forward.join(', ').slice(0, 512);
      context.mailboxForwarding = true;
      if (params.has('delivertomailboxandforward')) context.keepCopy = (params.get('delivertomailboxandforward') ?? '').toLowerCase() === 'true';
      markExternal(context, forward, [actor.id, targetId, text(record, 'OrganizationName')]);
    } else if (op === 'updateinboxrules') {
      const props = parameters(record, 'OperationProperties');
      const ruleOperation = (props.get('ruleoperation') ?? '').toLowerCase();
      if (ruleOperation.startsWith('remove') || ruleOperation.startsWith('delete')) return { ignored: 'UpdateInboxRules removed a rule' };
      kind = 'mailbox.rule';
      targetId = text(record, 'MailboxOwnerUPN') || actor.id;
      const rule = props.get('rulename');
      if (rule) context.ruleName = rule.slice(0, 256);
      if (ruleOperation) context.ruleOperation = ruleOperation.slice(0, 64);
    } else if (op === 'remove-inboxrule' || op === 'disable-inboxrule') return { ignored: `${operation} removes or disables a rule` };
    else return { ignored: `Exchange operation ${operation} is not a mailbox rule or forwarding change` };
  } else if (workload === 'azureactivedirectory') {
    const op = operation.toLowerCase().replace(/\.$/, '');
    if (op === 'update user') {
      const strong = list(record, 'ModifiedProperties').find((p) => (text(p, 'Name') ?? '').toLowerCase() === 'strongauthenticationmethod');
      if (!strong) return { ignored: '"Update user." changed no authentication method' };
      const methods = (v: unknown) => {
        const d = decodeJsonValue(v);
        return Array.isArray(d) ? d.map((m) => JSON.stringify(field(m, 'MethodType'))) : [];
      };
      const before = methods(field(strong, 'OldValue'));
      const after = methods(field(strong, 'NewValue'));
      kind =
        after.length === 0 && before.length > 0
          ? 'factor.reset_all'
          : after.some((m) => !before.includes(m))
            ? 'factor.enroll'
            : before.some((m) => !after.includes(m))
              ? 'factor.remove'
              : 'factor.update';
      targetId =
        text(record, 'ObjectId') ??
        list(record, 'Target')
          .map((t) => text(t, 'ID'))
          .find((t) => t?.includes('@'));
      context.perUserMfaMethods = true;
    } else return { ignored: `Azure AD operation ${operation} is not an identity change Warden governs` };
  } else return { ignored: `${text(record, 'Workload') ?? 'unknown'} workload record (${operation}) is not governed` };

  if (!targetId) return { ignored: `${operation} names no target` };
  const target = principal(targetId.slice(0, 256));
  const change: IdentityChange = {
    id: uuidv7(options.observedAt.getTime()),
    tenant: options.tenant,
    source: { idp: 'entra', eventIds: [`o365:${id}`.slice(0, 256)], rawType: `o365:${operation}`.slice(0, 256), via: options.via },
    kind,
    channel: channelOf(actor.id, target.id, userType),
    ...(kind.startsWith('factor.') ? { factor: { type: 'other' as const, name: 'per-user MFA methods' } } : {}),
    target,
    actor,
    occurredAt,
    observedAt: options.observedAt.toISOString(),
    context,
  };
  return { changes: [change] };
}

/** Sets `forwardExternal` when a forwarding address is outside every domain the record names for the organization. */
function markExternal(context: Record<string, string | number | boolean>, forward: string[], names: Array<string | undefined>): void {
  const own = new Set(names.map((n) => (n ? (domainOf(n) ?? (n.includes('.') ? n.toLowerCase() : undefined)) : undefined)).filter((d): d is string => !!d));
  const external = forward.map(domainOf).filter((d): d is string => !!d);
  if (external.length && own.size) context.forwardExternal = external.some((d) => ![...own].some((o) => d === o || d.endsWith(`.${o}`)));
}
