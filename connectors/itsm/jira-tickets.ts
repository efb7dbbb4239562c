import type { TicketPerson, TicketSnapshot } from '../../src/connector/index.js';
import { callJson, ItsmError, vendorMessage } from './http-call.js';
import { timeoutMs, type JiraConfig } from './itsm-config.js';

/**
 * Reads Jira Cloud issues and Jira Service Management requests: the issue
 * (`GET /rest/api/3/issue/{key}`, status, assignee, reporter, creator), the
 * request (`GET /rest/servicedeskapi/request/{key}`, service desk, reporter,
 * current status), and whether the request came by a channel the target
 * controls (JQL `request-channel-type`). Vendor docs: Jira Cloud platform
 * REST v3 (https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/),
 * JSM request API (https://developer.atlassian.com/cloud/jira/service-desk/rest/api-group-request/).
 */

/** Issue keys: PROJECT-123. */
export const ISSUE_KEY = /^[A-Za-z][A-Za-z0-9_]{0,49}-\d{1,12}$/;

type Json = Record<string, unknown>;
const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);

function user(v: unknown): TicketPerson | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const u = v as Json;
  const id = str(u.accountId);
  const email = str(u.emailAddress);
  const name = str(u.displayName);
  if (!id && !email) return undefined;
  return { ...(id ? { id } : {}), ...(email ? { email } : {}), ...(name ? { name } : {}) };
}

/** Jira's `2022-07-15T09:19:44.990+0000` as ISO 8601. */
function iso(v: unknown): string | undefined {
  const s = str(v);
  if (!s) return undefined;
  const t = Date.parse(s.replace(/([+-]\d\d)(\d\d)$/, '$1:$2'));
  return Number.isNaN(t) ? undefined : new Date(t).toISOString();
}

/** An issue (and, with service management, its request) as a ticket snapshot. */
export function jiraSnapshot(
  issue: Json,
  request: Json | undefined,
  channel: string | undefined,
  config: Pick<JiraConfig, 'siteUrl' | 'serviceDesks' | 'projects'>,
): TicketSnapshot {
  const fields = (issue.fields ?? {}) as Json;
  const status = (fields.status ?? {}) as { name?: unknown; statusCategory?: { key?: unknown } };
  const current = (request?.currentStatus ?? {}) as { status?: unknown; statusCategory?: unknown };
  const category = str(current.statusCategory)?.toLowerCase() ?? str(status.statusCategory?.key);
  const state = str(current.status) ?? str(status.name) ?? 'unknown';
  const key = str(issue.key) ?? str(request?.issueKey) ?? '';
  const project = key.split('-')[0] ?? '';
  const desk = str(request?.serviceDeskId);
  const idpGroups = desk ? (config.serviceDesks[desk] ?? []) : (config.projects[project] ?? []);
  const subject = user(request?.reporter) ?? user(fields.reporter);
  const creator = user(fields.creator);
  const assignee = user(fields.assignee);
  const values = Array.isArray(request?.requestFieldValues) ? (request.requestFieldValues as Array<{ fieldId?: unknown; value?: unknown }>) : [];
  const fieldValue = (id: string) => str(values.find((f) => f.fieldId === id)?.value);
  const summary = str(fields.summary) ?? fieldValue('summary');
  const description = fieldValue('description') ?? (typeof fields.description === 'string' ? fields.description : undefined);
  const createdAt = iso((request?.createdDate as Json | undefined)?.iso8601) ?? iso(fields.created);
  const web = str((request?._links as Json | undefined)?.web);
  return {
    system: 'jira',
    id: key,
    internalId: str(issue.id) ?? str(request?.issueId) ?? '',
    state,
    open: category !== undefined && category !== 'done' && category !== 'undefined',
    ...(desk || idpGroups.length
      ? { assignmentGroup: { ...(desk ? { id: desk, name: `service desk ${desk}` } : { id: project, name: `project ${project}` }), idpGroups } }
      : {}),
    ...(assignee ? { assignee } : {}),
    ...(subject ? { subject } : {}),
    ...(creator ? { openedBy: creator } : {}),
    ...(channel ? { channel } : {}),
    ...(summary ? { summary } : {}),
    ...(description ? { description } : {}),
    ...(createdAt ? { createdAt } : {}),
    url: web ?? `${config.siteUrl.replace(/\/$/, '')}/browse/${key}`,
    raw: { issue, ...(request ? { request } : {}) },
  };
}

/** A Jira client for one tenant. */
export class JiraTickets {
  constructor(
    private readonly config: JiraConfig,
    private readonly secret: (name: string) => string,
  ) {}

  #get(path: string) {
    const auth = `Basic ${Buffer.from(`${this.config.email}:${this.secret(this.config.apiTokenSecret)}`).toString('base64')}`;
    return callJson('Jira', `${this.config.siteUrl.replace(/\/$/, '')}${path}`, {
      headers: { authorization: auth },
      timeoutMs: timeoutMs(this.config.timeout),
    });
  }

  static #fail(what: string, status: number, body: unknown): never {
    if (status === 401 || status === 403)
      throw new ItsmError(`Jira refused Warden's credentials reading ${what} (HTTP ${status}: ${vendorMessage(body)})`, status);
    throw new ItsmError(`Jira answered HTTP ${status} reading ${what}: ${vendorMessage(body)}`, status);
  }

  /** The issue with this key, or undefined when there is none (or Warden may not see it). */
  async getTicket(key: string): Promise<TicketSnapshot | undefined> {
    if (!ISSUE_KEY.test(key)) return undefined;
    const issue = await this.#get(`/rest/api/3/issue/${encodeURIComponent(key)}?fields=summary,status,assignee,reporter,creator,created,description`);
    if (issue.status === 404) return undefined;
    if (issue.status !== 200) JiraTickets.#fail(`issue ${key}`, issue.status, issue.body);
    const resolvedKey = str((issue.body as Json).key) ?? key;
    let request: Json | undefined;
    let channel: string | undefined;
    if (this.config.serviceManagement) {
      const r = await this.#get(`/rest/servicedeskapi/request/${encodeURIComponent(resolvedKey)}`);
      // 404: an issue that is not a service request (or not visible as one).
      if (r.status === 200) request = r.body as Json;
      else if (r.status !== 404) JiraTickets.#fail(`request ${resolvedKey}`, r.status, r.body);
      for (const value of request ? this.config.selfRaisedChannels : []) {
        const jql = `key = ${resolvedKey} AND request-channel-type = ${value}`;
        const s = await this.#get(`/rest/api/3/search/jql?jql=${encodeURIComponent(jql)}&fields=key&maxResults=1`);
        if (s.status !== 200) JiraTickets.#fail(`the channel of ${resolvedKey}`, s.status, s.body);
        if (Array.isArray((s.body as Json).issues) && ((s.body as Json).issues as unknown[]).length > 0) {
          channel = value;
          break;
        }
      }
    }
    return jiraSnapshot(issue.body as Json, request, channel, this.config);
  }
}
