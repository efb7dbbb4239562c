import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/package-root.js';
import { HOOK_EVENT_TYPES } from './event-types.js';
import { TERRAFORM_EVENT_TYPES_FILE, terraformEventTypes } from './terraform-event-types.js';

describe('infra/terraform/okta', () => {
  it('lists exactly the event types `warden okta hooks register` subscribes to (run `npm run gen:okta-terraform` after changing them)', () => {
    const text = readFileSync(path.join(packageRoot(), TERRAFORM_EVENT_TYPES_FILE), 'utf8');
    expect(text).toBe(terraformEventTypes());
    expect((JSON.parse(text) as { locals: { warden_event_types: string[] } }).locals.warden_event_types).toEqual([...HOOK_EVENT_TYPES]);
  });

  it('uses that list in the okta_event_hook resource', () => {
    const main = readFileSync(path.join(packageRoot(), 'infra/terraform/okta/main.tf'), 'utf8');
    expect(main).toMatch(/resource "okta_event_hook" "warden" \{[\s\S]*events\s*=\s*local\.warden_event_types/);
  });
});
