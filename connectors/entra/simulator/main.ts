import { randomBytes, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { requiredPermissions } from '../graph-operations.js';
import { startGraphSimulator } from './graph-simulator.js';
import { throwawayCertificate } from './self-signed-certificate.js';

/**
 * Runs the Entra simulator on its own, for trying Warden without a tenant:
 *
 *   npx tsx connectors/entra/simulator/main.ts [--dir DIR]
 *
 * It writes its throw-away certificate to DIR/entra-sim-ca.pem, seeds an app
 * registration (with exactly Warden's permissions), an administrator, a help
 * desk agent, a privileged user and a standard one, and prints the `entra`
 * section and the environment to start Warden with. Type a command on stdin
 * to act as the administrator: `phone <user>` registers a phone method,
 * `reset <user>` resets a password, `users` lists users.
 */
async function main(): Promise<void> {
  const dirFlag = process.argv.indexOf('--dir');
  const dir = path.resolve(dirFlag > 0 ? process.argv[dirFlag + 1]! : '.');
  const tls = throwawayCertificate({ days: 7 });
  const caFile = path.join(dir, 'entra-sim-ca.pem');
  writeFileSync(caFile, tls.certPem);
  const tenantId = randomUUID();
  const sim = await startGraphSimulator({ tls: { cert: tls.certPem, key: tls.keyPem }, tenantId });
  const clientId = randomUUID();
  const secret = randomBytes(24).toString('base64url');
  const perms = requiredPermissions();
  sim.directory.addApp({ appId: clientId, displayName: 'Warden', secrets: [secret], permissions: [...perms.microsoftGraph, ...perms.office365ManagementApis] });
  const admin = sim.directory.addUser({ userPrincipalName: 'pat.admin@contoso.example', displayName: 'Pat Admin' });
  sim.directory.assignRole(admin.id, 'Privileged Authentication Administrator');
  const helpdesk = sim.directory.addUser({ userPrincipalName: 'hal.desk@contoso.example', displayName: 'Hal Desk' });
  sim.directory.assignRole(helpdesk.id, 'Helpdesk Administrator');
  const gina = sim.directory.addUser({ userPrincipalName: 'gina.global@contoso.example', displayName: 'Gina Global' });
  sim.directory.assignRole(gina.id, 'Global Administrator');
  sim.directory.addUser({ userPrincipalName: 'alice@contoso.example', displayName: 'Alice Example' });
  const hold = sim.directory.addGroup({ displayName: 'Warden hold' });

  process.stdout.write(
    [
      `Entra simulator at ${sim.url} (tenant ${tenantId})`,
      '',
      'Start Warden with:',
      `  export NODE_EXTRA_CA_CERTS=${caFile} ENTRA_CLIENT_SECRET=${secret} ENTRA_CLIENT_STATE=${randomBytes(24).toString('base64url')}`,
      '',
      'and under your tenant in warden.yaml:',
      '    entra:',
      `      tenantId: ${tenantId}`,
      `      clientId: ${clientId}`,
      '      credential: { secret: { env: ENTRA_CLIENT_SECRET } }',
      `      authorityHost: ${sim.url}`,
      `      graphBaseUrl: ${sim.url}`,
      `      holdGroup: { id: ${hold.id} }`,
      '      subscription: { enabled: false }   # Graph only calls https:// URLs: put Warden behind TLS to try notifications',
      '',
      'Commands (as Pat Admin): phone <upn>, reset <upn>, users',
      '',
    ].join('\n'),
  );
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk: string) => {
    for (const line of chunk.split('\n').filter((l) => l.trim())) run(line);
  });
  const run = (line: string) => {
    const [command, upn] = line.trim().split(/\s+/);
    try {
      if (command === 'users') for (const u of sim.directory.users.values()) process.stdout.write(`  ${u.userPrincipalName}  ${u.id}  methods: ${sim.directory.methodsOf(u.id).map((m) => m.collection).join(', ')}\n`);
      else if (command === 'phone' && upn) sim.act.registerPhone(admin.id, upn, { phoneNumber: '+1 206 555 0100' });
      else if (command === 'reset' && upn) sim.act.resetPassword(admin.id, upn);
      else process.stdout.write('commands: phone <upn>, reset <upn>, users\n');
      if (command === 'phone' || command === 'reset') process.stdout.write(`  done; the audit record is visible at ${sim.url}/v1.0/auditLogs/directoryAudits\n`);
    } catch (err) {
      process.stdout.write(`  ${(err as Error).message}\n`);
    }
  };
}

await main();
