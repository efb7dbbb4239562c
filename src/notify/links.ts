/**
 * Deep links in notifications, all built by one function: to the web
 * console's page (`/console`, docs/console.md) when the tenant offers it,
 * otherwise to the API resource, which a person opens with their sign-in.
 */

/** How links are built: to console pages when the tenant's people sign in there. */
export interface LinkOptions {
  console?: boolean;
}

/** What a message links to. */
export type LinkTarget =
  | { kind: 'request'; id: string }
  | { kind: 'alert'; id: string }
  | { kind: 'review'; id: string }
  /** The tenant's open alerts (where security starts). */
  | { kind: 'alerts' }
  /** A person's change requests (a held change: file or find the request that covers it). */
  | { kind: 'person'; id: string };

/**
 * The link to a resource of `tenant`, built on the tenant's
 * `notifications.publicUrl`.
 *
 * @example resourceLink('https://warden.acme.com', 'acme', { kind: 'request', id: 'r1' })
 *   // 'https://warden.acme.com/v1/requests/r1?tenant=acme'
 */
export function resourceLink(publicUrl: string, tenant: string, target: LinkTarget, options: LinkOptions = {}): string {
  const id = 'id' in target ? encodeURIComponent(target.id) : '';
  if (options.console) {
    // The console shows one tenant per session (the one its IdP signed the person in to); a page opened
    // without a session asks the person to sign in and comes back to it.
    const page: Record<LinkTarget['kind'], string> = {
      request: `console/requests/${id}`,
      alert: 'console/alerts',
      review: 'console/admin',
      person: 'console/requests',
      alerts: 'console/alerts',
    };
    return new URL(page[target.kind], withSlash(publicUrl)).toString();
  }
  const path: Record<LinkTarget['kind'], string> = {
    request: `/v1/requests/${id}`,
    alert: `/v1/alerts/${id}`,
    review: '/v1/reviews',
    person: `/v1/requests?target=${id}`,
    alerts: '/v1/alerts?status=open',
  };
  const url = new URL(path[target.kind].replace(/^\//, ''), withSlash(publicUrl));
  url.searchParams.set('tenant', tenant);
  return url.toString();
}

/** The page of a "this wasn't me" link (served by Warden itself, not the console). */
export function notMeLink(publicUrl: string, token: string): string {
  return new URL(`me/confirm/${encodeURIComponent(token)}`, withSlash(publicUrl)).toString();
}

const withSlash = (u: string) => (u.endsWith('/') ? u : `${u}/`);
