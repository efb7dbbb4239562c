import { WardenError } from '../../core/errors.js';
import type { NotificationMessage } from './message.js';

/**
 * The port every notification channel implements (Slack, Teams, e-mail): send
 * one message to the route's recipients, or throw {@link channelError}. The
 * channel worker retries, so a sender makes one attempt and never loops.
 */
export interface ChannelSender {
  readonly name: string;
  readonly type: 'slack' | 'teams' | 'email';
  /**
   * Sends `message`; `to` is the route's addresses (e-mail) and empty for chat.
   * @throws WardenError `ERR_NOTIFY_DELIVERY` (details: {@link ChannelFailure})
   */
  send(message: NotificationMessage, to: readonly string[]): Promise<void>;
  /** Releases connections (SMTP pools); optional. */
  close?(): void;
}

/** Why a send failed, for the retry decision and for `warden notify list --failed`. */
export interface ChannelFailure {
  /** true: retrying cannot help (bad token, unknown conversation, wrong URL); the message is failed at once. */
  permanent: boolean;
  /** The vendor asked to wait this long (Slack `Retry-After`, HTTP 429). */
  retryAfterMs?: number;
  /** The setting to fix, e.g. `tenants[acme].notifications.channels[secops].webhookUrl`. */
  setting?: string;
}

/** A failed send: `ERR_NOTIFY_DELIVERY` with what the worker needs in `details`. */
export function channelError(message: string, failure: ChannelFailure, cause?: unknown): WardenError {
  return new WardenError('ERR_NOTIFY_DELIVERY', message, { details: failure, ...(cause !== undefined ? { cause } : {}) });
}

/** The failure details of an error a sender threw (anything unexpected is retried). */
export function failureOf(err: unknown): ChannelFailure {
  if (err instanceof WardenError && err.code === 'ERR_NOTIFY_DELIVERY' && err.details && typeof err.details === 'object') return err.details as ChannelFailure;
  return { permanent: false };
}

/** Where a channel's setting lives in warden.yaml, for error messages. */
export function settingPath(tenant: string, channel: string, key: string): string {
  return `tenants[${tenant}].notifications.channels[${channel}].${key}`;
}
