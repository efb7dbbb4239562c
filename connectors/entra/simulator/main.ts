import path from 'node:path';
import { startLocalEntraSimulator } from './local-simulator.js';

/**
 * Runs the Entra simulator on its own, for trying Warden without a tenant:
 *
 *   npx tsx connectors/entra/simulator/main.ts [--dir DIR]
 *
 * It creates DIR if needed, writes its throw-away certificate to DIR/entra-sim-ca.pem
 * and keeps its port, tenant, credentials and hold group in DIR/entra-sim.json
 * (the same on every restart), seeds an app
 * registration (with exactly Warden's permissions), an administrator, a help
 * desk agent, a privileged user and a standard one, and prints the `entra`
 * section and the environment to start Warden with. Type a command on stdin
 * to act as the administrator: `phone <user>` registers a phone method,
 * `reset <user>` resets a password, `users` lists users.
 */
async function main(): Promise<void> {
  const dirFlag = process.argv.indexOf('--dir');
  const dir = path.resolve(dirFlag > 0 ? process.argv[dirFlag + 1]! : '.');
  const { sim, admin, instructions } = await startLocalEntraSimulator(dir);
  process.stdout.write(`${instructions}\nCommands (as Pat Admin): phone <upn>, reset <upn>, users\n\n`);
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk: string) => {
    for (const line of chunk.split('\n').filter((l) => l.trim())) run(line);
  });
  const run = (line: string) => {
    const [command, upn] = line.trim().split(/\s+/);
    try {
      if (command === 'users')
        for (const u of sim.directory.users.values())
          process.stdout.write(
            `  ${u.userPrincipalName}  ${u.id}  methods: ${sim.directory
              .methodsOf(u.id)
              .map((m) => m.collection)
              .join(', ')}\n`,
          );
      else if (command === 'phone' && upn) sim.act.registerPhone(admin, upn, { phoneNumber: '+1 206 555 0100' });
      else if (command === 'reset' && upn) sim.act.resetPassword(admin, upn);
      else process.stdout.write('commands: phone <upn>, reset <upn>, users\n');
      if (command === 'phone' || command === 'reset')
        process.stdout.write(`  done; the audit record is visible at ${sim.url}/v1.0/auditLogs/directoryAudits\n`);
    } catch (err) {
      process.stdout.write(`  ${(err as Error).message}\n`);
    }
  };
}

await main();
