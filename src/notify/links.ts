/**
 * Deep links in notifications. One function builds them all, so that when
 * the console (`/console`, issue "The people's side") lands, switching every
 * message to console pages is a change here and nowhere else. Until then a
 * link points to the API resource, which a person opens with their sign-in.
 */

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
export function resourceLink(publicUrl: string, tenant: string, target: LinkTarget): string {
  const id = 'id' in target ? encodeURIComponent(target.id) : '';
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
