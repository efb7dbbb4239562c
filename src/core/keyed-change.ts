import type { IdentityChange } from './identity-change.js';

/**
 * The change with the de-duplication key of its delivery among its event ids:
 * the event id itself, or `<event id>#<n>` when one event yields several
 * changes (each must be decided once, not once for all).
 */
export function keyedChange(change: IdentityChange, eventId: string, index: number, count: number): IdentityChange {
  const key = count === 1 ? eventId : `${eventId}#${index}`;
  const others = change.source.eventIds.filter((e) => e !== eventId && e !== key);
  const eventIds = [key, ...others];
  if (eventIds.length === change.source.eventIds.length && eventIds.every((e, j) => e === change.source.eventIds[j])) return change;
  return { ...change, source: { ...change.source, eventIds } };
}
