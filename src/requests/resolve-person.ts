import type { Approval, ChangeRequest, WorkflowActor } from '../core/change-request.js';
import { WardenError } from '../core/errors.js';
import type { Principal } from '../core/identity-change.js';
import { domainAliases, nameKey, nameVariants, spellName, type DomainAliases } from '../core/person-name.js';
import type { Caller } from './caller.js';
import type { WorkflowContext } from './request-context.js';

/**
 * One person, whatever name they were given by: separation of duties
 * compares these, never strings. A person signs in with a token whose `sub`
 * may be their IdP id or their login, a help desk types a requester's login
 * with a trailing space or in full-width characters, an Entra UPN ends in a
 * dot: each name is spelled one way (`spellName`), looked up in the IdP
 * through the tenant's `directory` port (with the tenant's domain aliases,
 * `detection.identities.domains`), and the person is the IdP user id it
 * resolves to. A name the IdP does not know is refused
 * (`ERR_IDENTITY_UNRESOLVED`), never compared as a string.
 */
export interface Person {
  /** The IdP user id; for callers that are not IdP users (CLI operator, API key, Warden itself), `<type>:<id>`. */
  id: string;
  /** Whether `id` is an IdP user id the directory returned. */
  resolved: boolean;
  /** Every name known of the person, spelled and in lower case (for messages, and for callers that are not IdP users). */
  names: ReadonlySet<string>;
}

/**
 * Whether two persons are the same: IdP ids compared exactly. A caller
 * that is not an IdP user (the operator at the CLI) has no IdP id; it is
 * the same as anyone who shares one of its names.
 */
export function samePerson(a: Person, b: Person): boolean {
  if (a.id === b.id) return true;
  if (a.resolved && b.resolved) return false;
  for (const n of a.names) if (b.names.has(n)) return true;
  return false;
}

const keysOf = (...names: Array<string | undefined>) => new Set(names.filter((n): n is string => !!n && n.trim() !== '').map(nameKey));

/** A person the directory returned. */
function personOf(principal: Principal, ...given: string[]): Person {
  return { id: principal.id, resolved: true, names: keysOf(principal.id, principal.login, principal.email, ...given) };
}

/** A party whose IdP id was resolved when the request was filed (`request.people`). */
function storedPerson(id: string, party: { id: string; login?: string | undefined; email?: string | undefined }): Person {
  return { id, resolved: true, names: keysOf(id, party.id, party.login, party.email) };
}

/**
 * Resolves the names of one tenant's people to persons, through the
 * tenant's directory. One resolver per operation: it remembers what it
 * looked up.
 *
 * @example
 *   const people = new PersonResolver(ctx, 'acme');
 *   const me = await people.ofCaller(caller);                          // sub=ann.approver@acme.example → 00u1ann
 *   samePerson(me, await people.ofName('00u1ann', 'requester'))        // true
 */
export class PersonResolver {
  readonly #lookups = new Map<string, Promise<Principal | undefined>>();
  readonly #domains: DomainAliases;

  constructor(
    private readonly ctx: WorkflowContext,
    private readonly tenant: string,
  ) {
    this.#domains = domainAliases(ctx.deps.config.tenants.find((t) => t.id === tenant)?.detection?.identities.domains);
  }

  /** The IdP user a spelled name (or one of its domain-aliased forms) names; undefined when none. @throws WardenError `ERR_UPSTREAM` */
  async #lookup(spelled: string): Promise<Principal | undefined> {
    const directory = this.ctx.deps.ports.directory(this.tenant);
    if (!directory) return undefined;
    for (const variant of nameVariants(spelled, this.#domains)) {
      let found = this.#lookups.get(variant);
      if (!found) {
        found = directory.getUser(this.tenant, variant, this.ctx.deps.connectorContext());
        this.#lookups.set(variant, found);
      }
      let user: Principal | undefined;
      try {
        user = await found;
      } catch (err) {
        throw this.ctx.upstream(`cannot look ${variant} up in the IdP`, err);
      }
      if (user) return user;
    }
    return undefined;
  }

  #unresolved(role: string, raw: string, why?: string): WardenError {
    const directory = this.ctx.deps.ports.directory(this.tenant);
    const reason =
      why ??
      (directory
        ? `the IdP of tenant ${this.tenant} knows no user "${spellName(raw)}"`
        : `tenant ${this.tenant} has no directory connector to resolve "${spellName(raw)}" with`);
    return new WardenError(
      'ERR_IDENTITY_UNRESOLVED',
      `separation of duties cannot be judged: ${reason} (the ${role}); an unresolved name is refused, not trusted`,
      {
        details: { party: role, name: raw },
      },
    );
  }

  /**
   * The person a name (IdP id, login, email, UPN, a token's `sub`) resolves to.
   *
   * @throws WardenError `ERR_IDENTITY_UNRESOLVED` (no such user, or no directory), `ERR_UPSTREAM`
   */
  async ofName(raw: string, role: string): Promise<Person> {
    const spelled = spellName(raw);
    const user = spelled === '' ? undefined : await this.#lookup(spelled);
    if (!user) throw this.#unresolved(role, raw);
    return personOf(user, raw);
  }

  /**
   * The person a party of a request names (`{ id, login?, email? }` as an
   * API client gave it). Every name given must resolve to the same person:
   * a party whose id is one person and whose login is another is refused.
   * A `service` party the IdP does not know (an app's client id) is kept by
   * its spelled id, unresolved: it is not a person, and it is the same as a
   * person only if it shares one of their names.
   *
   * @throws WardenError `ERR_IDENTITY_UNRESOLVED`, `ERR_UPSTREAM`
   */
  async ofParty(party: { id: string; login?: string | undefined; email?: string | undefined; type?: 'user' | 'service' }, role: string): Promise<Person> {
    let person: Person;
    try {
      person = await this.ofName(party.id, role);
    } catch (err) {
      if (party.type === 'service' && err instanceof WardenError && err.code === 'ERR_IDENTITY_UNRESOLVED')
        return { id: spellName(party.id), resolved: false, names: keysOf(party.id, party.login, party.email) };
      throw err;
    }
    for (const other of [party.login, party.email]) {
      if (!other || person.names.has(nameKey(other))) continue;
      const user = await this.#lookup(spellName(other));
      if (!user) throw this.#unresolved(role, other);
      if (user.id !== person.id)
        throw this.#unresolved(role, other, `"${spellName(party.id)}" and "${spellName(other)}" are two different users in the IdP of tenant ${this.tenant}`);
    }
    return { ...person, names: new Set([...person.names, ...keysOf(party.login, party.email)]) };
  }

  /**
   * Who is calling: a person signed in is the IdP user their token's
   * subject resolves to (Okta's `sub` is the user id in ID tokens and the
   * login in access tokens: the same person). Callers that are not people
   * of the IdP are `<type>:<id>`.
   *
   * @throws WardenError `ERR_IDENTITY_UNRESOLVED`, `ERR_UPSTREAM`
   */
  async ofCaller(caller: Caller): Promise<Person> {
    if (caller.type === 'user') return this.ofName(caller.subject, 'signed-in person');
    return this.#notAPerson(caller.type, caller.id);
  }

  /** A workflow actor as a person (who filed, declared or verified). @throws WardenError `ERR_IDENTITY_UNRESOLVED`, `ERR_UPSTREAM` */
  async ofActor(actor: WorkflowActor, role: string): Promise<Person> {
    if (actor.type === 'user') return this.ofName(actor.id, role);
    return this.#notAPerson(actor.type, actor.id);
  }

  #notAPerson(type: string, id: string): Person {
    return { id: `${type}:${nameKey(id)}`, resolved: false, names: keysOf(id) };
  }

  /**
   * The parties of a request as persons: from `request.people` (resolved
   * when it was filed), or resolved now for a request filed before Warden
   * resolved people.
   *
   * @throws WardenError `ERR_IDENTITY_UNRESOLVED`, `ERR_UPSTREAM`
   */
  async partiesOf(request: ChangeRequest): Promise<{ requester: Person; executor: Person; target: Person; filer: Person }> {
    const p = request.people;
    const [requester, executor, target, filer] = await Promise.all([
      p ? storedPerson(p.requester, request.requester) : this.ofParty(request.requester, 'requester'),
      p ? storedPerson(p.executor, request.executor) : this.ofParty(request.executor, 'executor'),
      p ? storedPerson(p.target, request.target) : this.ofParty(request.target, 'target'),
      p?.filer ? storedPerson(p.filer, request.createdBy) : this.ofActor(request.createdBy, 'filer'),
    ]);
    return { requester, executor, target, filer };
  }

  /**
   * Who gave an earlier verdict: its `approverId` is the approver's IdP id
   * (recorded with the token's `subject`); an approval recorded before
   * Warden resolved people named its approver by the token's subject, which
   * is resolved now, or compared by its names when the IdP no longer knows it.
   *
   * @throws WardenError `ERR_UPSTREAM`
   */
  async ofApproval(approval: Approval): Promise<Person> {
    if (approval.subject !== undefined)
      return { id: approval.approverId, resolved: true, names: keysOf(approval.approverId, approval.subject, ...approval.names) };
    try {
      const person = await this.ofName(approval.approverId, 'earlier approver');
      return { ...person, names: new Set([...person.names, ...keysOf(...approval.names)]) };
    } catch (err) {
      if (!(err instanceof WardenError && err.code === 'ERR_IDENTITY_UNRESOLVED')) throw err;
      return { id: `unresolved:${nameKey(approval.approverId)}`, resolved: false, names: keysOf(approval.approverId, ...approval.names) };
    }
  }
}
