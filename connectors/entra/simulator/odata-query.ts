import { SimError } from './simulated-directory.js';

/**
 * The part of OData `$filter` that `GET /auditLogs/directoryAudits` supports
 * and Warden uses (directoryaudit-list.md: `eq`/`ge`/`le` on activityDateTime,
 * `eq` on loggedByService, activityDisplayName, category, correlationId),
 * clauses joined by `and`. Anything else is refused as Graph refuses an
 * unsupported clause.
 */

type Predicate = (record: Record<string, unknown>) => boolean;

const COMPARE: Record<string, (a: number, b: number) => boolean> = {
  eq: (a, b) => a === b,
  ge: (a, b) => a >= b,
  gt: (a, b) => a > b,
  le: (a, b) => a <= b,
  lt: (a, b) => a < b,
};

const STRING_FIELDS = new Set(['loggedByService', 'activityDisplayName', 'category', 'correlationId', 'result']);

/** Compiles a directoryAudits `$filter`; throws SimError 400 for what Graph would refuse. */
export function compileAuditFilter(filter: string | null): Predicate {
  if (!filter?.trim()) return () => true;
  const clauses = filter.split(/\s+and\s+/i).map((clause) => clause.trim());
  const predicates = clauses.map((clause): Predicate => {
    const time = /^activityDateTime\s+(eq|ge|gt|le|lt)\s+(\S+)$/.exec(clause);
    if (time) {
      const at = Date.parse(time[2]!.replace(/^'|'$/g, ''));
      if (Number.isNaN(at)) throw invalid(clause);
      const cmp = COMPARE[time[1]!]!;
      return (r) => cmp(Date.parse(String(r.activityDateTime)), at);
    }
    const eq = /^(\w+)\s+eq\s+'((?:[^']|'')*)'$/.exec(clause);
    if (eq && STRING_FIELDS.has(eq[1]!)) {
      const value = eq[2]!.replace(/''/g, "'");
      return (r) => r[eq[1]!] === value;
    }
    throw invalid(clause);
  });
  return (r) => predicates.every((p) => p(r));
}

function invalid(clause: string): SimError {
  return new SimError(400, 'BadRequest', `Invalid filter clause: ${clause}`);
}
