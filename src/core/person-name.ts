/**
 * The written form of a person's name before it is compared or looked up:
 * the same login typed, pasted or signed in with differently must be one
 * string. Separation of duties (src/requests/resolve-person.ts) then
 * resolves it to the person's IdP id; this is only the spelling.
 */

/** Domain aliases, `from → to`, lower case (`tenants[].detection.identities.domains`). */
export type DomainAliases = ReadonlyMap<string, string>;

/** Domain aliases from the config's record form, keys and values normalised. */
export function domainAliases(domains: Readonly<Record<string, string>> = {}): DomainAliases {
  const map = new Map<string, string>();
  const domain = (d: string) => d.normalize('NFKC').trim().replace(/^@/, '').replace(/\.+$/, '').toLowerCase();
  for (const [from, to] of Object.entries(domains)) map.set(domain(from), domain(to));
  return map;
}

/**
 * One spelling of a name: Unicode NFKC (full-width `ｂｏｂ＠ａｃｍｅ．ｃｏｍ`
 * is `bob@acme.com`), zero-width and surrounding white space removed,
 * `mailto:` dropped, the trailing dots of a domain removed (`acme.com.` is
 * the DNS root spelling of `acme.com`), and a login (any name with `@`) in
 * lower case, as Okta logins and Entra UPNs are case-insensitive. Ids (no
 * `@`) keep their case: Okta ids are case-sensitive.
 *
 * @example
 *   spellName(' Bob.Approver@ACME.example. ') // 'bob.approver@acme.example'
 *   spellName('00u1BOB ')                      // '00u1BOB'
 */
export function spellName(raw: string): string {
  let n = raw
    .normalize('NFKC')
    .replace(/[\u200B-\u200D\u2060\uFEFF]/g, '')
    .trim();
  if (n.toLowerCase().startsWith('mailto:')) n = n.slice(7).trim();
  const at = n.lastIndexOf('@');
  if (at < 0) return n;
  const domain = n.slice(at + 1).replace(/\.+$/, '');
  return `${n.slice(0, at)}@${domain}`.toLowerCase();
}

/**
 * A spelled name and the same login in its aliased domains, both ways
 * (`x@acme.onmicrosoft.com` and `x@acme.com` for the alias
 * `acme.onmicrosoft.com: acme.com`): the IdP knows the person by one of them.
 */
export function nameVariants(spelled: string, domains: DomainAliases): string[] {
  const at = spelled.lastIndexOf('@');
  if (at <= 0 || domains.size === 0) return [spelled];
  const local = spelled.slice(0, at);
  const domain = spelled.slice(at + 1);
  const variants = new Set([spelled]);
  const to = domains.get(domain);
  if (to !== undefined) variants.add(`${local}@${to}`);
  for (const [from, target] of domains) if (target === domain || (to !== undefined && target === to)) variants.add(`${local}@${from}`);
  return [...variants];
}

/** The form names are compared in: the spelling, in lower case. */
export function nameKey(raw: string): string {
  return spellName(raw).toLowerCase();
}
