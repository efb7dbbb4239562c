import type { Connector, ConnectorContext, TicketLookup, TicketSnapshot, TicketSystemName } from '../../src/connector/index.js';
import { ItsmTenantConfig } from './itsm-config.js';
import { JiraTickets } from './jira-tickets.js';
import { ServiceNowTickets } from './servicenow-tickets.js';
import { WardenError } from '../../src/core/errors.js';

/**
 * The `itsm` connector: reads the tickets change requests cite, from
 * ServiceNow (Table API) and Jira Cloud / Jira Service Management, for the
 * workflow's ticket check (src/requests/check-ticket.ts). Configured per
 * tenant under `tenants[].itsm`; credentials come from the tenant's secrets.
 */
export function itsmConnector(): Connector {
  const clients = new Map<string, ServiceNowTickets | JiraTickets>();
  const client = (tenant: string, system: TicketSystemName, ctx: ConnectorContext) => {
    const key = `${tenant}|${system}`;
    let c = clients.get(key);
    if (!c) {
      const t = ctx.config.tenants.find((x) => x.id === tenant);
      const section = ItsmTenantConfig.parse(t?.connectors.itsm ?? {});
      const secret = (name: string) => {
        const s = t?.secrets[name];
        if (!s) throw new WardenError('ERR_CONFIG_INVALID', `tenant ${tenant}: secret ${name} (itsm) is not configured or not resolved`);
        return s.reveal();
      };
      if (system === 'servicenow' && section.servicenow) c = new ServiceNowTickets(section.servicenow, secret, ctx.clock);
      else if (system === 'jira' && section.jira) c = new JiraTickets(section.jira, secret);
      else throw new WardenError('ERR_CONFIG_INVALID', `tenant ${tenant} has no itsm.${system} section`);
      clients.set(key, c);
    }
    return c;
  };
  const tickets: TicketLookup & { systems: TicketSystemName[] } = {
    systems: ['servicenow', 'jira'],
    getTicket: ({ tenant, system, id }, ctx): Promise<TicketSnapshot | undefined> => client(tenant, system, ctx).getTicket(id),
  };
  return {
    name: 'itsm',
    description: 'Ticket checks for change requests: ServiceNow (Table API), Jira Cloud and Jira Service Management',
    tenantConfig: ItsmTenantConfig,
    tickets,
  };
}
