import { systemClock, type Clock } from '../../src/core/clock.js';
import type { TicketPerson, TicketSnapshot } from '../../src/connector/index.js';
import { callJson, ItsmError, vendorMessage } from './http-call.js';
import { timeoutMs, type ServiceNowConfig } from './itsm-config.js';

/**
 * Reads incidents (or another task table) through the ServiceNow Table API:
 * `GET /api/now/table/{table}?sysparm_query=number=<N>` with the fields the
 * check needs, references dot-walked to their e-mail and user name
 * (`caller_id.email`, …). Vendor doc: ServiceNow Table API
 * (https://www.servicenow.com/docs/r/api-reference/rest-apis/c_TableAPI.html).
 */

/** Ticket numbers only: letters, digits, `-` and `_`. Anything else could smuggle encoded-query operators (`^OR…`) into `sysparm_query`. */
export const TICKET_NUMBER = /^[A-Za-z0-9_-]{1,40}$/;

export const SERVICENOW_FIELDS = [
  'number',
  'sys_id',
  'state',
  'active',
  'short_description',
  'description',
  'contact_type',
  'opened_at',
  'sys_created_on',
  'caller_id',
  'opened_by',
  'assigned_to',
  'assignment_group',
  'caller_id.email',
  'caller_id.user_name',
  'opened_by.email',
  'opened_by.user_name',
  'assigned_to.email',
  'assigned_to.user_name',
  'assignment_group.name',
] as const;

type Record_ = Record<string, unknown>;

/** A reference field: `{ link, value }`, `{ display_value, link }`, or `""` when empty. */
function refValue(v: unknown): string | undefined {
  if (typeof v === 'string') return v || undefined;
  if (v && typeof v === 'object') {
    const o = v as { value?: unknown; display_value?: unknown };
    if (typeof o.value === 'string' && o.value) return o.value;
  }
  return undefined;
}

const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);

function person(r: Record_, field: string): TicketPerson | undefined {
  const id = refValue(r[field]);
  const email = str(r[`${field}.email`]);
  const login = str(r[`${field}.user_name`]);
  if (!id && !email && !login) return undefined;
  return { ...(id ? { id } : {}), ...(email ? { email } : {}), ...(login ? { login } : {}) };
}

/** ServiceNow dates (`2015-11-01 22:05:30`, UTC, no zone) as ISO 8601. */
function utc(v: unknown): string | undefined {
  const s = str(v);
  if (!s || !/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/.test(s)) return undefined;
  return `${s.replace(' ', 'T')}Z`;
}

/** A Table API record as a ticket snapshot. */
export function serviceNowSnapshot(
  record: Record_,
  config: Pick<ServiceNowConfig, 'instanceUrl' | 'table' | 'stateLabels' | 'openStates' | 'groups'>,
): TicketSnapshot {
  const stateValue = typeof record.state === 'string' ? record.state : String(record.state ?? '');
  const label = config.stateLabels[stateValue];
  const open = label !== undefined && config.openStates.includes(stateValue) && record.active !== 'false';
  const groupId = refValue(record.assignment_group);
  const groupName = str(record['assignment_group.name']);
  const idpGroups = [...new Set([...(groupName ? (config.groups[groupName] ?? [groupName]) : []), ...(groupId ? (config.groups[groupId] ?? []) : [])])];
  const assignee = person(record, 'assigned_to');
  const subject = person(record, 'caller_id');
  const openedBy = person(record, 'opened_by');
  const channel = str(record.contact_type)?.toLowerCase();
  const summary = str(record.short_description);
  const description = str(record.description);
  const createdAt = utc(record.opened_at) ?? utc(record.sys_created_on);
  const sysId = str(record.sys_id) ?? '';
  return {
    system: 'servicenow',
    id: str(record.number) ?? '',
    internalId: sysId,
    state: label ?? `unknown state ${stateValue}`,
    open,
    ...(groupId || groupName ? { assignmentGroup: { ...(groupId ? { id: groupId } : {}), ...(groupName ? { name: groupName } : {}), idpGroups } } : {}),
    ...(assignee ? { assignee } : {}),
    ...(subject ? { subject } : {}),
    ...(openedBy ? { openedBy } : {}),
    ...(channel ? { channel } : {}),
    ...(summary ? { summary } : {}),
    ...(description ? { description } : {}),
    ...(createdAt ? { createdAt } : {}),
    url: `${config.instanceUrl.replace(/\/$/, '')}/nav_to.do?uri=${config.table}.do?sys_id=${sysId}`,
    raw: record,
  };
}

/** A ServiceNow client for one tenant: reads one ticket by number. OAuth tokens are cached until shortly before they expire. */
export class ServiceNowTickets {
  #token: { value: string; until: number } | undefined;

  constructor(
    private readonly config: ServiceNowConfig,
    private readonly secret: (name: string) => string,
    private readonly clock: Clock = systemClock,
  ) {}

  get #base(): string {
    return this.config.instanceUrl.replace(/\/$/, '');
  }

  async #authorization(): Promise<string> {
    const auth = this.config.auth;
    if (auth.type === 'basic') return `Basic ${Buffer.from(`${auth.username}:${this.secret(auth.passwordSecret)}`).toString('base64')}`;
    const now = this.clock().getTime();
    if (this.#token && this.#token.until > now) return `Bearer ${this.#token.value}`;
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: auth.clientId,
      client_secret: this.secret(auth.clientSecretSecret),
      ...(auth.scope ? { scope: auth.scope } : {}),
    });
    const { status, body } = await callJson('ServiceNow', `${this.#base}/oauth_token.do`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
      timeoutMs: timeoutMs(this.config.timeout),
    });
    const token = body as { access_token?: unknown; expires_in?: unknown } | undefined;
    if (status !== 200 || typeof token?.access_token !== 'string')
      throw new ItsmError(`ServiceNow refused the OAuth client credentials (HTTP ${status}: ${vendorMessage(body)})`, status);
    const ttl = typeof token.expires_in === 'number' ? token.expires_in : 300;
    this.#token = { value: token.access_token, until: now + Math.max(0, ttl - 60) * 1000 };
    return `Bearer ${token.access_token}`;
  }

  /** The ticket with this number, or undefined when the table has none (or Warden may not read it). */
  async getTicket(number: string): Promise<TicketSnapshot | undefined> {
    if (!TICKET_NUMBER.test(number)) return undefined;
    const url = new URL(`${this.#base}/api/now/table/${this.config.table}`);
    url.searchParams.set('sysparm_query', `number=${number}`);
    url.searchParams.set('sysparm_fields', SERVICENOW_FIELDS.join(','));
    url.searchParams.set('sysparm_display_value', 'false');
    url.searchParams.set('sysparm_limit', '1');
    const call = async () =>
      callJson('ServiceNow', url.toString(), { headers: { authorization: await this.#authorization() }, timeoutMs: timeoutMs(this.config.timeout) });
    let { status, body } = await call();
    if (status === 401 && this.config.auth.type === 'oauth') {
      // An OAuth token revoked early: fetch a new one once.
      this.#token = undefined;
      ({ status, body } = await call());
    }
    // v1 answers 404 to a query with no result; later versions 200 with an empty list. 404 can also mean an ACL hides the record.
    if (status === 404) return undefined;
    if (status === 401 || status === 403) throw new ItsmError(`ServiceNow refused Warden's credentials (HTTP ${status}: ${vendorMessage(body)})`, status);
    if (status !== 200) throw new ItsmError(`ServiceNow answered HTTP ${status}: ${vendorMessage(body)}`, status);
    const result = (body as { result?: unknown } | undefined)?.result;
    if (!Array.isArray(result)) throw new ItsmError('ServiceNow answered without a result list');
    const record = result[0] as Record_ | undefined;
    return record ? serviceNowSnapshot(record, this.config) : undefined;
  }
}
