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

/** The outbound event queue (src/notify): events and one delivery per endpoint: part of the Store port (src/store/store.ts). */
export interface NotifyStore {
  /** Queues an event and one delivery per endpoint. */
  putNotifyEvent(event: NotifyEventRow, endpoints: readonly string[]): Promise<void>;
  /** Takes up to `limit` due deliveries (queued, or running with an expired lease). */
  claimDeliveries(limit: number, now: Date, leaseSeconds: number): Promise<DeliveryRow[]>;
  completeDelivery(id: number, now: Date, status: number): Promise<void>;
  /** Records a failed attempt: retried at `retryAt`, or failed for good when null. */
  failDelivery(id: number, now: Date, error: string, status: number | null, retryAt: Date | null): Promise<void>;
  /** Deliveries of a tenant, newest first (operators, tests). */
  listDeliveries(tenant: string, limit: number): Promise<DeliveryRow[]>;
}
