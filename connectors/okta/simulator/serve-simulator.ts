/**
 * Runs the Okta simulator on its own for demos and manual tests:
 *
 *   npx tsx connectors/okta/simulator/serve-simulator.ts
 *
 * It prints the org URL and the API token to put in warden.yaml
 * (`orgUrl`, `simulator: true`, `auth: { type: api_token, token: … }`), and
 * seeds a help-desk agent and an employee with an Okta Verify factor. An
 * Okta Verify push waits for the person, as on a phone: type
 * `approve <login>` or `deny <login>` and Enter to answer it.
 */
import { systemClock } from '../../../src/core/clock.js';
import { createInterface } from 'node:readline';
import { OktaSimulator } from './okta-simulator.js';
import { wardenCommand } from '../../../src/connector/index.js';

const sim = await new OktaSimulator().start();
sim.addGroup('Warden Hold');
const agent = sim.addUser({ login: 'agent@acme.example', firstName: 'Hal', lastName: 'Desk' }, { roles: ['HELP_DESK_ADMIN'] });
const employee = sim.addUser({ login: 'dana@acme.example', firstName: 'Dana', lastName: 'Employee' });
sim.addFactor(employee.id, 'push', new Date(systemClock().getTime() - 30 * 86_400_000));
process.stdout.write(
  `Okta simulator on ${sim.url}\n  API token   ${sim.token}\n  help desk   ${agent.profile.login} (${agent.id})\n  employee    ${employee.profile.login} (${employee.id})\n` +
    `Register Warden's hook with \`${wardenCommand()} okta hooks register --tenant T --url http://127.0.0.1:8080\`.\n` +
    `Answer an Okta Verify push with \`approve <login>\` or \`deny <login>\`. Ctrl-C stops it.\n`,
);
createInterface({ input: process.stdin }).on('line', (line) => {
  const [verb, login] = line.trim().split(/\s+/);
  const user = [...sim.users.values()].find((u) => u.profile.login === login);
  if ((verb !== 'approve' && verb !== 'deny') || !user) return void process.stdout.write('usage: approve <login> | deny <login>\n');
  try {
    process.stdout.write(`${verb === 'approve' ? 'approved' : 'denied'} push ${sim.answerPush(user.id, verb)}\n`);
  } catch (err) {
    process.stdout.write(`${(err as Error).message}\n`);
  }
});
const stop = () => void sim.close().then(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
