/** An outbound event as queued: its exact body is signed on every delivery attempt. */
export interface NotifyEventRow {
  id: string;
  tenant: string;
  type: string;
  body: string;
  createdAt: Date;
}

/** One delivery of an event to one endpoint, with its event. */
export interface DeliveryRow {
  id: number;
  eventId: string;
  tenant: string;
  endpoint: string;
  state: 'queued' | 'running' | 'delivered' | 'failed';
  attempts: number;
  nextAttemptAt: Date;
  lastStatus?: number;
  lastError?: string;
  deliveredAt?: Date;
  /** The event it delivers. */
  event: NotifyEventRow;
}

/** Which deliveries a worker takes: signed webhooks, chat and e-mail channels, or "this wasn't me" notices. */
export type DeliveryKind = 'webhook' | 'channel' | 'notme';

/** A "this wasn't me" link as stored: what it is bound to, until when, and whether it was used. */
export interface NotMeLinkRow {
  /** Random id, carried in the signed link. */
  id: string;
  tenant: string;
  /** The person the link was sent to (IdP user id). */
  personId: string;
  /** What it is about: a help-desk request, or a decided change made by someone else. */
  subject: { kind: 'request' | 'change'; id: string };
  createdAt: Date;
  expiresAt: Date;
  usedAt?: Date;
  outcome?: 'not_me' | 'was_me';
  /** The "was this you?" Okta Verify push sent with it, if any (docs/notifications.md). */
  push?: NotMePush;
}

/** State of a link's Okta Verify push: `waiting` is polled; the others are final. */
export interface NotMePush {
  state: 'waiting' | 'approved' | 'rejected' | 'timeout' | 'skipped' | 'failed';
  /** The proofer's transaction id (waiting and after). */
  transactionId?: string;
  /** Why it was skipped or failed. */
  note?: string;
}

/** The outbound event queue's store operations. */
export interface NotifyStore {
  /** Queues an event and one delivery per endpoint. */
  putNotifyEvent(event: NotifyEventRow, endpoints: readonly string[]): Promise<void>;
  /**
   * Takes up to `limit` due deliveries (queued, or running with an expired
   * lease) of one kind: `webhook` (the default) takes endpoints without a
   * prefix; `channel` takes `channel:<name>` (chat and e-mail), `notme` takes
   * `notme:<name>` (the affected person's notice). Webhook names cannot hold
   * a colon, so the kinds never overlap.
   */
  claimDeliveries(limit: number, now: Date, leaseSeconds: number, kind?: DeliveryKind): Promise<DeliveryRow[]>;
  completeDelivery(id: number, now: Date, status: number): Promise<void>;
  /** Records a failed attempt: retried at `retryAt`, or failed for good when null. */
  failDelivery(id: number, now: Date, error: string, status: number | null, retryAt: Date | null): Promise<void>;
  /** Deliveries of a tenant, newest first (operators, tests), optionally only those in `filter.state` or of `filter.kind`. */
  listDeliveries(tenant: string, limit: number, filter?: { state?: DeliveryRow['state']; kind?: DeliveryKind }): Promise<DeliveryRow[]>;
  /** Stores a "this wasn't me" link (src/requests/not-me); its id is the link's single-use key. */
  putNotMeLink(link: NotMeLinkRow): Promise<void>;
  /** A link, locked for the transaction when asked (redeeming it). */
  getNotMeLink(tenant: string, id: string, options?: { lock?: boolean }): Promise<NotMeLinkRow | undefined>;
  /** Marks a link used, once: false when it was used already. */
  useNotMeLink(tenant: string, id: string, outcome: 'not_me' | 'was_me', at: Date): Promise<boolean>;
  /** How many links were issued for a person since `since` (rate limit). */
  countNotMeLinks(tenant: string, personId: string, since: Date): Promise<number>;
  /** Records the state of a link's Okta Verify push. */
  setNotMePush(tenant: string, id: string, push: NotMePush): Promise<void>;
  /** Links (of every tenant) whose push is waiting for the person, unused and not expired at `now`, oldest first. */
  waitingNotMePushes(now: Date, limit: number): Promise<NotMeLinkRow[]>;
}
