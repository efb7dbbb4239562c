import { randomBytes } from 'node:crypto';
import { systemClock, type Clock } from '../../../src/core/clock.js';
import { WardenError } from '../../../src/core/errors.js';
import { basicCredentials, itsmFixture, jsonBody, serveJson, type SimAnswer, type SimRequest } from './sim-http.js';

/**
 * A local ServiceNow instance for `warden demo` and tests: the Table API
 * calls Warden's ServiceNow adapter makes (servicenow-tickets.ts) and the ones
 * a service-desk agent's tools make to log a call.
 *
 * - `GET /api/now/table/{incident|sys_user|sys_user_group}` with
 *   `sysparm_query` (`field=value` terms joined by `^`), `sysparm_fields`
 *   (dot-walked references `caller_id.email` come back as flat keys) and
 *   `sysparm_limit`; `GET …/{sys_id}`;
 * - `POST /api/now/table/incident` (201, the new record; `opened_by` and
 *   `sys_created_by` are the signed-in user, `contact_type` defaults to
 *   `phone`) and `PATCH /api/now/table/incident/{sys_id}` (e.g. `state`).
 *
 * Basic authentication only (OAuth client credentials are not simulated);
 * a wrong or missing password answers 401 with the vendor's error envelope.
 * Records are built on the vendor's POST example
 * (servicenow-table-post-incident-response.json): every value a string,
 * references `{ link, value }` or `""`, dates `YYYY-MM-DD HH:MM:SS` UTC,
 * incident states 1 New, 2 In Progress, 3 On Hold, 6 Resolved, 7 Closed,
 * 8 Canceled (research itsm.md §1). Display values
 * (`sysparm_display_value=true|all`) are not simulated: values come back as
 * stored.
 */

export interface ServiceNowUserInput {
  user_name: string;
  email: string;
  name: string;
  /** Basic-auth password; users without one cannot call the API. */
  password?: string;
}

type Row = Record<string, string>;

const REFERENCES: Record<string, Record<string, string>> = {
  incident: {
    caller_id: 'sys_user',
    opened_by: 'sys_user',
    assigned_to: 'sys_user',
    resolved_by: 'sys_user',
    closed_by: 'sys_user',
    assignment_group: 'sys_user_group',
  },
  sys_user: {},
  sys_user_group: {},
};
const CLOSED_STATES = new Set(['6', '7', '8']);

/** ServiceNow's database date-time: `2016-01-22 14:28:24`, UTC. */
function glideDate(d: Date): string {
  return d.toISOString().slice(0, 19).replace('T', ' ');
}

export class ServiceNowSimulator {
  readonly tables: Record<string, Map<string, Row>> = { incident: new Map(), sys_user: new Map(), sys_user_group: new Map() };
  /** Every API call: method, path, query, the user. */
  readonly requests: Array<{ method: string; path: string; query: string; user?: string; status: number }> = [];
  #url = '';
  #close: (() => Promise<void>) | undefined;
  #next = 10_001;

  constructor(private readonly clock: Clock = systemClock) {}

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

  #sysId(): string {
    return randomBytes(16).toString('hex');
  }

  addUser(input: ServiceNowUserInput): Row {
    const now = glideDate(this.clock());
    const row: Row = {
      sys_id: this.#sysId(),
      user_name: input.user_name,
      email: input.email,
      name: input.name,
      active: 'true',
      sys_created_on: now,
      sys_updated_on: now,
      ...(input.password ? { '#password': input.password } : {}),
    };
    this.tables.sys_user!.set(row.sys_id!, row);
    return row;
  }

  addGroup(name: string): Row {
    const existing = [...this.tables.sys_user_group!.values()].find((g) => g.name === name);
    if (existing) return existing;
    const now = glideDate(this.clock());
    const row: Row = { sys_id: this.#sysId(), name, active: 'true', sys_created_on: now, sys_updated_on: now };
    this.tables.sys_user_group!.set(row.sys_id!, row);
    return row;
  }

  /** The incident with this number. */
  incident(number: string): Row | undefined {
    return [...this.tables.incident!.values()].find((r) => r.number === number);
  }

  /** Logs an incident as `openedBy` (a user_name) would through the Table API. */
  createIncident(openedBy: string, fields: Record<string, string>): Row {
    const user = [...this.tables.sys_user!.values()].find((u) => u.user_name === openedBy);
    if (!user) throw new WardenError('ERR_NOT_FOUND', `no ServiceNow user ${openedBy}`);
    return this.#insert(user, fields);
  }

  #insert(user: Row, fields: Record<string, string>): Row {
    const template = itsmFixture<{ result: Record<string, unknown> }>('servicenow-table-post-incident-response.json').result;
    const row: Row = {};
    // Every field of the vendor's incident, empty until set.
    for (const k of Object.keys(template)) row[k] = '';
    const now = glideDate(this.clock());
    Object.assign(row, {
      // The vendor example's defaults for a new record.
      impact: '2',
      urgency: '2',
      priority: '3',
      severity: '3',
      category: 'inquiry',
      contact_type: 'phone',
      ...fields,
      sys_id: this.#sysId(),
      number: `INC${String(this.#next++).padStart(7, '0')}`,
      state: fields.state ?? '1',
      incident_state: fields.state ?? '1',
      active: CLOSED_STATES.has(fields.state ?? '1') ? 'false' : 'true',
      opened_by: user.sys_id!,
      opened_at: now,
      sys_created_on: now,
      sys_updated_on: now,
      sys_created_by: user.user_name!,
      sys_updated_by: user.user_name!,
      sys_class_name: 'incident',
      sys_mod_count: '0',
    });
    this.tables.incident!.set(row.sys_id!, row);
    return row;
  }

  /** A record as the Table API shows it: references as `{ link, value }`, dot-walked fields when asked for. */
  #render(table: string, row: Row, fields: string[] | undefined): Record<string, unknown> {
    const refs = REFERENCES[table] ?? {};
    const out: Record<string, unknown> = {};
    const names = fields ?? Object.keys(row).filter((k) => !k.startsWith('#'));
    for (const name of names) {
      const dot = name.indexOf('.');
      if (dot > 0) {
        const ref = name.slice(0, dot);
        const target = refs[ref] && row[ref] ? this.tables[refs[ref]!]?.get(row[ref]!) : undefined;
        out[name] = target?.[name.slice(dot + 1)] ?? '';
        continue;
      }
      if (!(name in row) || name.startsWith('#')) continue;
      const value = row[name]!;
      out[name] = refs[name] && value ? { link: `${this.#url}/api/now/table/${refs[name]}/${value}`, value } : value;
    }
    return out;
  }

  #matches(table: string, row: Row, query: string | null, url: URL): boolean {
    const terms: Array<[string, string]> = [];
    if (query)
      for (const term of query.split('^')) {
        const eq = term.indexOf('=');
        // Operators other than `=` are not simulated; an unknown part is ignored, as ServiceNow ignores invalid query parts.
        if (eq > 0 && !/[!<>]$/.test(term.slice(0, eq))) terms.push([term.slice(0, eq), term.slice(eq + 1)]);
      }
    else for (const [k, v] of url.searchParams) if (!k.startsWith('sysparm_')) terms.push([k, v]);
    return terms.every(([field, value]) => {
      if (!(field in row) && !field.includes('.')) return true;
      if (field.includes('.')) {
        const [ref, sub] = field.split('.') as [string, string];
        const target = REFERENCES[table]?.[ref];
        return !!target && this.tables[target]?.get(row[ref] ?? '')?.[sub] === value;
      }
      return row[field] === value;
    });
  }

  #error(status: number, message: string, detail: string): SimAnswer {
    return { status, body: { error: { message, detail }, status: 'failure' } };
  }

  #handle(req: SimRequest): SimAnswer {
    const answer = this.#route(req);
    this.requests.push({
      method: req.method,
      path: req.url.pathname,
      query: req.url.search,
      ...(basicCredentials(req.headers.authorization) ? { user: basicCredentials(req.headers.authorization)!.user } : {}),
      status: answer.status,
    });
    return answer;
  }

  #route(req: SimRequest): SimAnswer {
    const m = /^\/api\/now\/(?:v[12]\/)?table\/([a-z_][a-z0-9_]*)(?:\/([0-9a-f]{32}))?$/.exec(req.url.pathname);
    if (!m) return this.#error(400, 'Requested URI does not represent any resource', `${req.url.pathname}`);
    const credentials = basicCredentials(req.headers.authorization);
    const user = credentials
      ? [...this.tables.sys_user!.values()].find((u) => u.user_name === credentials.user && u['#password'] === credentials.password)
      : undefined;
    if (!user) return itsmFixtureAnswer(401, 'servicenow-error-401-user-not-authenticated.json');
    const [, table, sysId] = m as unknown as [string, string, string | undefined];
    const rows = this.tables[table];
    if (!rows) return this.#error(400, 'Invalid table', table);
    const fields = req.url.searchParams
      .get('sysparm_fields')
      ?.split(',')
      .map((f) => f.trim())
      .filter(Boolean);
    if (req.method === 'GET') {
      if (sysId) {
        const row = rows.get(sysId);
        return row
          ? { status: 200, body: { result: this.#render(table, row, fields) } }
          : this.#error(404, 'No Record found', "Record doesn't exist or ACL restricts the record retrieval");
      }
      const limit = Number(req.url.searchParams.get('sysparm_limit') ?? 10_000);
      const found = [...rows.values()].filter((r) => this.#matches(table, r, req.url.searchParams.get('sysparm_query'), req.url));
      return {
        status: 200,
        body: { result: found.slice(0, limit).map((r) => this.#render(table, r, fields)) },
        headers: { 'x-total-count': String(found.length) },
      };
    }
    if (table !== 'incident') return this.#error(403, 'Operation Failed', 'ACL Exception Insert Failed due to security constraints');
    const body = jsonBody(req.body);
    if (!body) return this.#error(400, 'Exception while reading request', 'The payload is not valid JSON.');
    const input = Object.fromEntries(Object.entries(body).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
    if (req.method === 'POST' && !sysId) return { status: 201, body: { result: this.#render(table, this.#insert(user, input), fields) } };
    if ((req.method === 'PATCH' || req.method === 'PUT') && sysId) {
      const row = rows.get(sysId);
      if (!row) return this.#error(404, 'No Record found', "Record doesn't exist or ACL restricts the record retrieval");
      const { sys_id: _id, number: _n, opened_by: _o, sys_created_by: _c, sys_created_on: _t, ...changes } = input;
      Object.assign(row, changes);
      if (changes.state) {
        row.incident_state = changes.state;
        row.active = CLOSED_STATES.has(changes.state) ? 'false' : 'true';
      }
      row.sys_updated_on = glideDate(this.clock());
      row.sys_updated_by = user.user_name!;
      row.sys_mod_count = String(Number(row.sys_mod_count ?? '0') + 1);
      return { status: 200, body: { result: this.#render(table, row, fields) } };
    }
    return this.#error(405, 'Method not Supported', `${req.method} is not supported for this resource`);
  }
}

function itsmFixtureAnswer(status: number, name: string): SimAnswer {
  return { status, body: itsmFixture(name) };
}
