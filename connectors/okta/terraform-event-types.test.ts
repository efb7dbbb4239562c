import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/package-root.js';
import { HOOK_EVENT_TYPES, hookEventTypes } from './event-types.js';
import { TERRAFORM_EVENT_TYPES_FILE, terraformEventTypes } from './terraform-event-types.js';

describe('infra/terraform/okta', () => {
  it('lists exactly the event types `warden okta hooks register` subscribes to (run `npm run gen:okta-terraform` after changing them)', () => {
    const text = readFileSync(path.join(packageRoot(), TERRAFORM_EVENT_TYPES_FILE), 'utf8');
    expect(text).toBe(terraformEventTypes());
    const locals = (JSON.parse(text) as { locals: { warden_event_types: string[]; warden_signal_event_types: string[] } }).locals;
    expect(locals.warden_event_types).toEqual([...HOOK_EVENT_TYPES]);
    expect(locals.warden_signal_event_types).toEqual(HOOK_EVENT_TYPES.filter((t) => !hookEventTypes({ signals: false }).includes(t)));
    expect(locals.warden_signal_event_types).toEqual(['user.authentication.auth_via_mfa']);
  });

  it('uses that list in the okta_event_hook resource, without the signal types when hook_signals is false', () => {
    const main = readFileSync(path.join(packageRoot(), 'infra/terraform/okta/main.tf'), 'utf8');
    expect(main).toMatch(/resource "okta_event_hook" "warden" \{[\s\S]*events\s*=\s*local\.warden_hook_event_types/);
    expect(main).toContain(
      'warden_hook_event_types = [for t in local.warden_event_types : t if var.hook_signals || !contains(local.warden_signal_event_types, t)]',
    );
    const variables = readFileSync(path.join(packageRoot(), 'infra/terraform/okta/variables.tf'), 'utf8');
    expect(variables).toMatch(/variable "hook_signals" \{[^}]*type\s*=\s*bool[^}]*default\s*=\s*true/);
  });
});
