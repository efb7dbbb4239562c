import { HOOK_EVENT_TYPES, SIGNAL_EVENT_TYPES } from './event-types.js';

/**
 * `infra/terraform/okta/warden-event-types.tf.json`: the event types of the
 * Okta event hook, for the okta Terraform provider's `okta_event_hook`,
 * generated from `HOOK_EVENT_TYPES` (`npm run gen:okta-terraform`; a test
 * keeps the file in step), and which of them carry signals (left out with
 * `hook_signals = false`, as `eventHook.signals: false` does).
 */
export function terraformEventTypes(): string {
  const doc = {
    '//': 'Generated from connectors/okta/event-types.ts by `npm run gen:okta-terraform`. Do not edit by hand.',
    locals: { warden_event_types: [...HOOK_EVENT_TYPES], warden_signal_event_types: HOOK_EVENT_TYPES.filter((t) => SIGNAL_EVENT_TYPES[t]) },
  };
  return JSON.stringify(doc, null, 2) + '\n';
}

/** Path of the generated file, relative to the repository root. */
export const TERRAFORM_EVENT_TYPES_FILE = 'infra/terraform/okta/warden-event-types.tf.json';
