import { systemClock, type Clock } from '../../../src/core/clock.js';
import { basicCredentials, itsmFixture, jsonBody, serveJson, type SimAnswer, type SimRequest } from './sim-http.js';

/**
 * A local Jira Cloud site for `warden demo` and tests: the platform REST v3
 * calls Warden's Jira adapter makes without service management
 * (jira-tickets.ts, `serviceManagement: false`) and the ones an agent's tools
 * make to log and move an issue:
 *
 * - `POST /rest/api/3/issue` (`fields.project.key`, `summary`, optional
 *   `reporter.accountId`; 201 `{ id, key, self }`);
 * - `GET /rest/api/3/issue/{key}` (`fields=` honoured) with `status`,
 *   `reporter`, `creator`, `assignee` (`null` when unassigned), `created`;
 * - `POST /rest/api/3/issue/{key}/transitions` with `transition.id`
 *   11 To Do (`new`), 21 In Progress (`indeterminate`), 31 Done (`done`): 204.
 *
 * The Jira Service Management request API is not simulated (a request read
 * answers 404, as for an issue that is no service request). Basic
 * authentication with e-mail and API token; 401 otherwise. Shapes are the
 * vendor's examples (jira-get-issue-response.json for the envelope,
 * jira-get-status-response.json, jira-get-user-response.json) with live-site
 * status category keys (research itsm.md §2).
 */

export interface JiraUserInput {
  accountId: string;
  emailAddress: string;
  displayName: string;
  /** API token for basic auth; users without one cannot call the API. */
  apiToken?: string;
}

interface SimIssue {
  id: string;
  key: string;
  summary: string;
  description?: string;
  status: keyof typeof STATUSES;
  reporter: string;
  creator: string;
  assignee?: string;
  created: string;
}

const STATUSES = {
  '11': { name: 'To Do', category: 'new', categoryId: 2, color: 'blue-gray', categoryName: 'To Do' },
  '21': { name: 'In Progress', category: 'indeterminate', categoryId: 4, color: 'yellow', categoryName: 'In Progress' },
  '31': { name: 'Done', category: 'done', categoryId: 3, color: 'green', categoryName: 'Done' },
} as const;

/** Jira's `2022-07-15T09:19:44.990+0000`. */
function jiraDate(d: Date): string {
  return d.toISOString().replace('Z', '+0000');
}

export class JiraSimulator {
  readonly users = new Map<string, JiraUserInput>();
  readonly issues = new Map<string, SimIssue>();
  readonly requests: Array<{ method: string; path: string; query: string; user?: string; status: number }> = [];
  #url = '';
  #close: (() => Promise<void>) | undefined;
  #nextId = 10_001;
  readonly #counters = new Map<string, number>();

  constructor(
    readonly projects: readonly string[] = ['HELP'],
    private readonly clock: Clock = systemClock,
  ) {}

  get url(): string {
    return this.#url;
  }

  async start(port = 0): Promise<this> {
    const server = await serveJson((req) => this.#handle(req), port);
    this.#url = server.url;
    this.#close = server.close;
    return this;
  }

  close(): Promise<void> {
    return this.#close?.() ?? Promise.resolve();
  }

  addUser(user: JiraUserInput): JiraUserInput {
    this.users.set(user.accountId, user);
    return user;
  }

  /** Logs an issue as `creator` (an accountId) would through the API. */
  createIssue(creator: string, input: { project: string; summary: string; description?: string; reporter?: string }): SimIssue {
    const n = (this.#counters.get(input.project) ?? 0) + 1;
    this.#counters.set(input.project, n);
    const issue: SimIssue = {
      id: String(this.#nextId++),
      key: `${input.project}-${n}`,
      summary: input.summary,
      ...(input.description ? { description: input.description } : {}),
      status: '11',
      reporter: input.reporter ?? creator,
      creator,
      created: jiraDate(this.clock()),
    };
    this.issues.set(issue.key, issue);
    return issue;
  }

  #user(accountId: string | undefined): Record<string, unknown> | null {
    const u = accountId ? this.users.get(accountId) : undefined;
    if (!u) return null;
    const { groups: _g, applicationRoles: _a, ...template } = itsmFixture('jira-get-user-response.json');
    return {
      ...template,
      self: `${this.#url}/rest/api/3/user?accountId=${u.accountId}`,
      accountId: u.accountId,
      emailAddress: u.emailAddress,
      displayName: u.displayName,
      active: true,
    };
  }

  #issueJson(issue: SimIssue, fields: string[] | undefined): Record<string, unknown> {
    const envelope = itsmFixture<Record<string, unknown>>('jira-get-issue-response.json');
    const status = STATUSES[issue.status];
    const statusTemplate = itsmFixture<{ statusCategory: Record<string, unknown> } & Record<string, unknown>>('jira-get-status-response.json');
    const all: Record<string, unknown> = {
      summary: issue.summary,
      description: issue.description ?? null,
      status: {
        ...statusTemplate,
        self: `${this.#url}/rest/api/3/status/${issue.status}`,
        name: status.name,
        id: issue.status,
        statusCategory: {
          ...statusTemplate.statusCategory,
          self: `${this.#url}/rest/api/3/statuscategory/${status.categoryId}`,
          id: status.categoryId,
          key: status.category,
          colorName: status.color,
          name: status.categoryName,
        },
      },
      reporter: this.#user(issue.reporter),
      creator: this.#user(issue.creator),
      assignee: this.#user(issue.assignee),
      created: issue.created,
      project: { self: `${this.#url}/rest/api/3/project/${issue.key.split('-')[0]}`, key: issue.key.split('-')[0] },
    };
    const wanted =
      fields && !fields.includes('*all') && !fields.includes('*navigable') ? Object.fromEntries(Object.entries(all).filter(([k]) => fields.includes(k))) : all;
    return { expand: envelope.expand ?? '', id: issue.id, self: `${this.#url}/rest/api/3/issue/${issue.id}`, key: issue.key, fields: wanted };
  }

  #notFound(what: string): SimAnswer {
    return { status: 404, body: { errorMessages: [`${what} does not exist or you do not have permission to see it.`], errors: {} } };
  }

  #handle(req: SimRequest): SimAnswer {
    const credentials = basicCredentials(req.headers.authorization);
    const caller = credentials ? [...this.users.values()].find((u) => u.emailAddress === credentials.user && u.apiToken === credentials.password) : undefined;
    const answer = caller
      ? this.#route(req, caller)
      : { status: 401, body: { errorMessages: ['You are not authenticated. Authentication required to perform this operation.'], errors: {} } };
    this.requests.push({
      method: req.method,
      path: req.url.pathname,
      query: req.url.search,
      ...(credentials ? { user: credentials.user } : {}),
      status: answer.status,
    });
    return answer;
  }

  #route(req: SimRequest, caller: JiraUserInput): SimAnswer {
    const path = req.url.pathname;
    if (req.method === 'POST' && path === '/rest/api/3/issue') {
      const fields = (jsonBody(req.body)?.fields ?? {}) as {
        project?: { key?: string };
        summary?: string;
        description?: string;
        reporter?: { accountId?: string };
      };
      const project = fields.project?.key;
      if (!project || !this.projects.includes(project))
        return { status: 400, body: { errorMessages: [], errors: { project: 'Specify a valid project ID or key' } } };
      if (!fields.summary) return { status: 400, body: { errorMessages: [], errors: { summary: 'You must specify a summary of the issue.' } } };
      const reporter = fields.reporter?.accountId;
      if (reporter && !this.users.has(reporter))
        return { status: 400, body: { errorMessages: [], errors: { reporter: 'Specify a valid value for reporter' } } };
      const issue = this.createIssue(caller.accountId, {
        project,
        summary: fields.summary,
        ...(typeof fields.description === 'string' ? { description: fields.description } : {}),
        ...(reporter ? { reporter } : {}),
      });
      return { status: 201, body: { id: issue.id, key: issue.key, self: `${this.#url}/rest/api/3/issue/${issue.id}` } };
    }
    let m = /^\/rest\/api\/3\/issue\/([^/]+)(\/transitions)?$/.exec(path);
    if (m) {
      const key = decodeURIComponent(m[1]!);
      const issue = this.issues.get(key.toUpperCase()) ?? [...this.issues.values()].find((i) => i.id === key);
      if (!issue) return this.#notFound('Issue');
      if (req.method === 'GET' && !m[2])
        return {
          status: 200,
          body: this.#issueJson(
            issue,
            req.url.searchParams
              .getAll('fields')
              .flatMap((f) => f.split(','))
              .filter(Boolean).length
              ? req.url.searchParams.getAll('fields').flatMap((f) => f.split(','))
              : undefined,
          ),
        };
      if (req.method === 'POST' && m[2]) {
        const id = String(((jsonBody(req.body)?.transition ?? {}) as { id?: unknown }).id ?? '');
        if (!(id in STATUSES)) return { status: 400, body: { errorMessages: [], errors: { transition: 'Transition id is not valid for this issue.' } } };
        issue.status = id as SimIssue['status'];
        return { status: 204 };
      }
    }
    m = /^\/rest\/servicedeskapi\/request\/([^/]+)$/.exec(path);
    if (m) return this.#notFound('Request');
    return { status: 404, body: { errorMessages: ['Not found'], errors: {} } };
  }
}
