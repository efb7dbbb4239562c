/**
 * `target` with the methods in `own` in place of its own, everything else
 * forwarded to it (methods bound to it): how a store is handed on with a
 * few calls observed (src/engine/source-progress.ts,
 * src/notify/wake-after-outbound.ts), in and out of its transactions.
 */
export function overlay<T extends object>(target: T, own: Record<PropertyKey, unknown>): T {
  return new Proxy(target, {
    get(t, prop) {
      if (prop in own) return own[prop];
      const value = Reflect.get(t, prop, t) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(t) : value;
    },
  });
}
