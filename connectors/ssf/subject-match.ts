/**
 * Subject matching (SSF 1.0 §8.1.3.1 "Subject Matching"): simple subjects
 * match when they are identical; complex subjects match when, for every
 * member (`user`, `group`, `device`, …), it is missing on one side or
 * identical on both. Used by the transmitter to leave out subjects a
 * receiver removed from its stream.
 */

type Subject = Record<string, unknown>;

/** JSON with object keys sorted, so two equal subjects compare equal whatever their key order. */
export function canonicalSubject(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalSubject).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalSubject((v as Subject)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

/** Whether two subject identifiers match under SSF 1.0's rules. */
export function subjectsMatch(a: Subject, b: Subject): boolean {
  if (a.format !== 'complex' || b.format !== 'complex') return canonicalSubject(a) === canonicalSubject(b);
  const members = new Set([...Object.keys(a), ...Object.keys(b)].filter((k) => k !== 'format'));
  for (const m of members) {
    if (a[m] === undefined || b[m] === undefined) continue;
    if (canonicalSubject(a[m]) !== canonicalSubject(b[m])) return false;
  }
  return true;
}

/** Whether `v` is a subject identifier: an object with a string `format`. */
export function isSubject(v: unknown): v is Subject {
  return !!v && typeof v === 'object' && !Array.isArray(v) && typeof (v as Subject).format === 'string';
}
