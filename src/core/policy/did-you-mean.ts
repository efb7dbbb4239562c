import type { z } from 'zod';

/** Edit distance (insertions, deletions, substitutions, transpositions of neighbours) between two short strings. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  return d[a.length]![b.length]!;
}

/**
 * The known word closest to `word`, when it is close enough to be a typo (at most a third of its
 * letters differ, case aside).
 *
 * @example didYouMean('revoke_session', ['hold_group', 'revoke_sessions']) // 'revoke_sessions'
 */
export function didYouMean(word: string, known: readonly string[]): string | undefined {
  let best: { word: string; d: number } | undefined;
  for (const k of known) {
    const d = distance(word.toLowerCase(), k.toLowerCase());
    if (!best || d < best.d) best = { word: k, d };
  }
  return best && best.d <= Math.max(1, Math.floor(word.length / 3)) ? best.word : undefined;
}

/** The keys an object schema accepts at `path` inside `schema` (through arrays, optionals, defaults, unions), or none. */
export function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  const keys = new Set<string>();
  const walk = (s: z.ZodType, rest: readonly PropertyKey[]): void => {
    const def = (s as unknown as { _zod: { def: Record<string, unknown> & { type: string } } })._zod.def;
    switch (def.type) {
      case 'optional':
      case 'default':
      case 'nullable':
      case 'prefault':
      case 'readonly':
        return walk(def.innerType as z.ZodType, rest);
      case 'pipe':
        return walk(def.in as z.ZodType, rest);
      case 'union':
        for (const o of def.options as z.ZodType[]) walk(o, rest);
        return;
      case 'array':
        if (rest.length && typeof rest[0] === 'number') walk(def.element as z.ZodType, rest.slice(1));
        return;
      case 'object': {
        const shape = def.shape as Record<string, z.ZodType>;
        if (rest.length === 0) for (const k of Object.keys(shape)) keys.add(k);
        else if (typeof rest[0] === 'string' && shape[rest[0]]) walk(shape[rest[0]]!, rest.slice(1));
        return;
      }
      default:
        return;
    }
  };
  walk(schema, path);
  return [...keys];
}
