/** Writes infra/terraform/okta/warden-event-types.tf.json from the code (`npm run gen:okta-terraform`). */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { TERRAFORM_EVENT_TYPES_FILE, terraformEventTypes } from './terraform-event-types.js';
import { packageRoot } from '../../src/connector/index.js';

writeFileSync(path.join(packageRoot(), TERRAFORM_EVENT_TYPES_FILE), terraformEventTypes());
console.log(`wrote ${TERRAFORM_EVENT_TYPES_FILE}`);
