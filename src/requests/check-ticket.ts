import type { TicketRequirement } from '../core/decision.js';
import type { Principal } from '../core/identity-change.js';
import type { TicketPerson, TicketSnapshot } from '../connector/contract.js';

/** The result of checking a ticket against a request. */
export interface TicketCheck {
  valid: boolean;
  problems: string[];
}

/** Channels by which a ticket raised by the target themself is refused: their mailbox or their own session may be the attacker's. */
export const SELF_RAISED_CHANNELS: readonly string[] = ['email', 'self-service', 'portal'];

const lower = (s: string | undefined) => s?.trim().toLowerCase() || undefined;

function namesOfPrincipal(p: Pick<Principal, 'id' | 'login' | 'email'>): Set<string> {
  return new Set([p.id, p.login, p.email].map(lower).filter((n): n is string => !!n));
}

function isPerson(person: TicketPerson | undefined, names: Set<string>): boolean {
  if (!person) return false;
  return [person.login, person.email].map(lower).some((n) => n !== undefined && names.has(n));
}

/**
 * Checks a ticket (read from the ITSM) against a change request: it exists
 * and is the one cited, is open and in a state the policy accepts, is
 * assigned to the executor (or to a team the executor belongs to),
 * references the target (as caller / reporter, or by login or email in its
 * text), and was not raised by the target through their mailbox or their own
 * self-service session (which an attacker may control). Pure: the ITSM is
 * read by the connector (connectors/itsm).
 */
export function checkTicket(
  ticket: TicketSnapshot | undefined,
  input: {
    ref: { system: string; id: string };
    target: Pick<Principal, 'id' | 'login' | 'email'>;
    executor: { names: readonly string[]; groups: readonly string[] | undefined };
    requirement?: TicketRequirement;
  },
): TicketCheck {
  const { ref, requirement } = input;
  if (!ticket) return { valid: false, problems: [`ticket ${ref.id} does not exist in ${ref.system} (or Warden may not read it)`] };
  const problems: string[] = [];
  if (ticket.id.toLowerCase() !== ref.id.toLowerCase()) problems.push(`${ref.system} returned ${ticket.id} for ${ref.id}`);
  if (requirement?.system && ticket.system !== requirement.system)
    problems.push(`ticket ${ref.id} is in ${ticket.system}, the policy wants ${requirement.system}`);
  if (!ticket.open) problems.push(`ticket ${ticket.id} is not open (${ticket.state})`);
  if (requirement?.states && !requirement.states.includes(ticket.state))
    problems.push(`ticket ${ticket.id} is "${ticket.state}", not one of ${requirement.states.map((s) => `"${s}"`).join(', ')}`);

  const executorNames = new Set(input.executor.names.map((n) => n.toLowerCase()));
  const assignedToExecutor = isPerson(ticket.assignee, executorNames);
  const executorGroups = new Set((input.executor.groups ?? []).map((g) => g.toLowerCase()));
  const teamGroups = ticket.assignmentGroup?.idpGroups.map((g) => g.toLowerCase()) ?? [];
  const assignedToTeam = teamGroups.some((g) => executorGroups.has(g));
  if (!assignedToExecutor && !assignedToTeam) {
    const team = ticket.assignmentGroup?.name ?? ticket.assignmentGroup?.id;
    if (!team && !ticket.assignee) problems.push(`ticket ${ticket.id} is not assigned to anyone`);
    else if (input.executor.groups === undefined && !assignedToExecutor)
      problems.push(`ticket ${ticket.id} is assigned to ${team ?? 'someone else'}; the executor's groups are unknown (no directory connector)`);
    else
      problems.push(
        `ticket ${ticket.id} is assigned to ${team ?? ticket.assignee?.login ?? ticket.assignee?.email ?? 'someone else'}, not to the executor or a group of theirs`,
      );
  }

  const targetNames = namesOfPrincipal(input.target);
  const text = `${ticket.summary ?? ''}\n${ticket.description ?? ''}`.toLowerCase();
  const mentioned = [input.target.login, input.target.email].map(lower).some((n) => n !== undefined && text.includes(n));
  const aboutTarget = isPerson(ticket.subject, targetNames);
  if (!aboutTarget && !mentioned)
    problems.push(
      `ticket ${ticket.id} does not reference the target (${input.target.login ?? input.target.email ?? input.target.id}) as its caller or in its text`,
    );

  const raisedByTarget = isPerson(ticket.openedBy, targetNames) || (ticket.openedBy === undefined && aboutTarget);
  if (ticket.channel && SELF_RAISED_CHANNELS.includes(ticket.channel) && raisedByTarget)
    problems.push(`ticket ${ticket.id} was raised by the target through ${ticket.channel}: their mailbox or session may be the attacker's`);

  return { valid: problems.length === 0, problems };
}
