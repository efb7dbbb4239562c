/**
 * One person, one key, across IdPs: detection correlates an Okta factor
 * reset, an Entra password reset and an M365 inbox rule of the same person,
 * who is `alice@acme.com` in Okta, `Alice@acme.com` as an Entra UPN and
 * `alice@acme.onmicrosoft.com` in Exchange. The key is the login (Okta
 * login, Entra UPN, M365 UserId) or email, lower case, with the tenant's
 * domain aliases and identity aliases applied; a principal with neither is
 * keyed by `<idp>:<id>`.
 */

/** A tenant's identity mapping (`tenants[].detection.identities` in warden.yaml). */
export interface IdentityConfig {
  /** Domain aliases: `acme.onmicrosoft.com: acme.com` makes `x@acme.onmicrosoft.com` the same key as `x@acme.com`. */
  domains: Readonly<Record<string, string>>;
  /** Canonical identity → the other names it goes by: logins, emails, or `<idp>:<id>`. */
  aliases: Readonly<Record<string, readonly string[]>>;
}

export const NO_IDENTITY_CONFIG: IdentityConfig = Object.freeze({ domains: Object.freeze({}), aliases: Object.freeze({}) });

/** The parts of a principal a key is made from. */
export interface KeyedPrincipal {
  id: string;
  login?: string | undefined;
  email?: string | undefined;
}

/** Entries kept in the name → key cache before it is cleared (bounds memory on a stream of many names). */
const CACHE_LIMIT = 200_000;

/**
 * Computes canonical identity keys. Cheap to call per change: results are
 * cached per raw name.
 *
 * @example
 *   const ids = new IdentityResolver({ domains: { 'acme.onmicrosoft.com': 'acme.com' }, aliases: {} });
 *   ids.keyOf({ id: '00u1', login: 'Alice@ACME.onmicrosoft.com' }, 'entra') // 'alice@acme.com'
 */
export class IdentityResolver {
  readonly #domains = new Map<string, string>();
  readonly #aliases = new Map<string, string>();
  readonly #cache = new Map<string, string>();

  constructor(config: IdentityConfig = NO_IDENTITY_CONFIG) {
    for (const [from, to] of Object.entries(config.domains)) this.#domains.set(from.trim().toLowerCase(), to.trim().toLowerCase());
    for (const [canonical, names] of Object.entries(config.aliases)) {
      const key = this.#normalize(canonical);
      for (const name of [canonical, ...names]) {
        this.#aliases.set(this.#normalize(name), key);
        // `<idp>:<id>` aliases match the id exactly as well (ids are case-sensitive in some IdPs).
        this.#aliases.set(name.trim(), key);
      }
    }
  }

  /** Lower case, trimmed, `mailto:` dropped, domain aliases applied. */
  #normalize(name: string): string {
    let n = name.trim().toLowerCase();
    if (n.startsWith('mailto:')) n = n.slice(7);
    const at = n.lastIndexOf('@');
    if (at > 0 && this.#domains.size > 0) {
      const domain = this.#domains.get(n.slice(at + 1));
      if (domain !== undefined) n = `${n.slice(0, at)}@${domain}`;
    }
    return n;
  }

  /** `#normalize`, cached per raw name. */
  #name(raw: string): string {
    // Most names already are keys (lower case, trimmed, no domain to map): no cache lookup needed.
    if (this.#domains.size === 0 && raw.charCodeAt(0) > 32 && raw.charCodeAt(raw.length - 1) > 32 && !raw.startsWith('mailto:') && raw.toLowerCase() === raw)
      return raw;
    let n = this.#cache.get(raw);
    if (n === undefined) {
      n = this.#normalize(raw);
      if (this.#cache.size >= CACHE_LIMIT) this.#cache.clear();
      this.#cache.set(raw, n);
    }
    return n;
  }

  /** The canonical key of a principal seen in `idp`. */
  keyOf(p: KeyedPrincipal, idp: string): string {
    const login = p.login ? this.#name(p.login) : undefined;
    const email = p.email ? this.#name(p.email) : undefined;
    if (this.#aliases.size > 0) {
      const aliased =
        (login !== undefined ? this.#aliases.get(login) : undefined) ??
        (email !== undefined ? this.#aliases.get(email) : undefined) ??
        this.#aliases.get(`${idp}:${p.id}`) ??
        this.#aliases.get(`${idp}:${p.id}`.toLowerCase());
      if (aliased !== undefined) return aliased;
    }
    // A login that is not an address (Okta allows `alice`) loses to the email, which other IdPs use.
    if (login?.includes('@')) return login;
    if (email !== undefined) return email;
    return login || `${idp}:${p.id}`;
  }
}
