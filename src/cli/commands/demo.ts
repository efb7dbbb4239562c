import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { WardenError } from '../../core/errors.js';
import { DemoControl } from '../../demo/demo-control.js';
import type { DemoKit } from '../../connector/demo-kit.js';
import { playAccountable } from '../../demo/play-accountable.js';
import { playAttack } from '../../demo/play-attack.js';
import { Play } from '../../demo/play-support.js';
import { demoBanner, startDemo, type RunningDemo, type StartWarden } from '../../demo/run-demo.js';
import { wardenCommand } from '../../package-root.js';
import { EXIT } from '../../runtime/cli-io.js';
import type { CliRuntime } from '../cli-runtime.js';

/** What bin/warden.js gives the CLI besides the connectors: the demo's simulators (connectors/demo), loaded on use. */
export interface CliExtras {
  demoKit?: () => Promise<DemoKit>;
  /** Starts Warden for the demo (the program passes `startServer`). */
  startWarden?: StartWarden;
}

/** The environment variable a re-started demo process carries: the CA file it already trusts. */
const TRUSTS_ENV = 'WARDEN_DEMO_TRUSTS';

const PLAYS = { attack: playAttack, accountable: playAccountable } as const;

/**
 * Node reads NODE_EXTRA_CA_CERTS only when a process starts, and the demo's
 * processes must trust its throw-away certificate (Warden calls the Entra
 * simulator over HTTPS; the simulators and the plays call Warden over
 * HTTPS). So `warden demo` runs itself again once, as a child process that
 * trusts it, and passes signals on. Returns the child's exit code, or
 * undefined when this process already trusts the certificate.
 */
async function runTrusting(caFile: string, dir: string): Promise<number | undefined> {
  if (process.env[TRUSTS_ENV] === caFile) return undefined;
  const script = process.argv[1] ?? '';
  if (!/warden(\.js)?$/.test(script))
    throw new WardenError(
      'ERR_CONFIG_INVALID',
      `warden demo must trust its certificate: set NODE_EXTRA_CA_CERTS=${caFile} and ${TRUSTS_ENV}=${caFile} before Node starts`,
    );
  let bundle = caFile;
  const existing = process.env.NODE_EXTRA_CA_CERTS;
  if (existing && existing !== caFile) {
    bundle = path.join(dir, 'ca-bundle.pem');
    writeFileSync(bundle, `${readFileSync(existing, 'utf8').trimEnd()}\n${readFileSync(caFile, 'utf8')}`);
  }
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, NODE_EXTRA_CA_CERTS: bundle, [TRUSTS_ENV]: caFile },
  });
  const pass = (signal: NodeJS.Signals) => () => void child.kill(signal);
  const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((s) => [s, pass(s)] as const);
  for (const [s, h] of handlers) process.on(s, h);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 + 15 : EXIT.failed)));
    });
  } finally {
    for (const [s, h] of handlers) process.off(s, h);
  }
}

/**
 * Resolves on the first SIGINT or SIGTERM; later ones are ignored until `release` (Ctrl-C in a terminal signals
 * the whole process group, so the demo gets it from the terminal and again from its parent: the second must not
 * kill it half-way through stopping).
 */
function untilStopped(): { stopped: Promise<NodeJS.Signals>; release(): void } {
  let resolve: (s: NodeJS.Signals) => void;
  const stopped = new Promise<NodeJS.Signals>((r) => (resolve = r));
  const handler = (signal: NodeJS.Signals) => resolve(signal);
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    stopped,
    release: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

function port(value: string | undefined, what: string): number {
  const n = Number(value ?? 0);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new WardenError('ERR_VALIDATION', `${what} must be a TCP port (0: any free one), not "${value}"`);
  return n;
}

/** `warden demo` and `warden demo act`. */
export function registerDemoCommand(program: Command, rt: CliRuntime, extras: CliExtras): void {
  const kit = async () => {
    if (!extras.demoKit) throw new WardenError('ERR_DEV_INSTALL_REQUIRED', 'this build of warden has no demo simulators');
    return extras.demoKit();
  };
  const demo = program
    .command('demo')
    .description('run the local demo kit: Okta, Entra, ServiceNow and Jira simulators, a development sign-in, and Warden, all on 127.0.0.1 (docs/demo.md)')
    .option('--dir <dir>', 'state directory (certificate, warden.yaml, policy, store)', '.warden/demo')
    .option('--play <name>', `narrate a scenario against the running demo (or start one): ${Object.keys(PLAYS).join(', ')}`)
    .option('--port <port>', "Warden's HTTPS port (0: any free one)", '8443')
    .option('--control-port <port>', "the demo's control endpoint port (0: any free one)", '8444')
    .option('--oidc-port <port>', "the development sign-in's port (0: any free one)", '8445')
    .action(async (opts: { dir: string; play?: string; port: string; controlPort: string; oidcPort: string }) => {
      const dir = path.resolve(opts.dir);
      const play = opts.play === undefined ? undefined : PLAYS[opts.play as keyof typeof PLAYS];
      if (opts.play !== undefined && !play) throw new WardenError('ERR_VALIDATION', `no play "${opts.play}" (${Object.keys(PLAYS).join(', ')})`);
      const demoKit = await kit();
      const startWarden = extras.startWarden;
      if (!startWarden) throw new WardenError('ERR_INTERNAL', 'warden demo: the program gave no way to start Warden');
      const child = await runTrusting(demoKit.certificate(dir).caFile, dir);
      if (child !== undefined) return rt.setExit(child);

      const narrate = (text: string) => void rt.io.out(text);
      if (play) {
        const running = await DemoControl.find(dir);
        if (running) {
          await play(new Play(running, await running.info(), narrate, rt.clock));
          return;
        }
      }
      const signals = untilStopped();
      let demo: RunningDemo;
      try {
        demo = await startDemo({
          dir,
          port: port(opts.port, '--port'),
          controlPort: port(opts.controlPort, '--control-port'),
          oidcPort: port(opts.oidcPort, '--oidc-port'),
          clock: rt.clock,
          kit: demoKit,
          startWarden,
        });
      } catch (err) {
        signals.release();
        if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE')
          throw new WardenError(
            'ERR_CONFIG_INVALID',
            `a port the demo wants is taken (${(err as Error).message}); is a demo already running? Pick others with --port, --control-port and --oidc-port (0: any free one)`,
          );
        throw err;
      }
      try {
        await rt.io.out(demoBanner(demo.info, dir));
        if (play) await play(new Play(new DemoControl(demo.info.control), demo.info, narrate, rt.clock));
        await signals.stopped;
      } finally {
        await rt.io.out('Stopping the demo…\n');
        await demo.stop();
        signals.release();
        await rt.io.out('Stopped.\n');
      }
    });

  demo
    .command('act')
    .description(
      'act inside a simulated IdP as a person would (docs/demo.md): okta reset-factors|enroll-factor|reset-password|sign-in|answer-push, entra reset-password|register-phone|add-inbox-rule',
    )
    .argument('<idp>', 'okta or entra')
    .argument('<action>', 'what happens, e.g. reset-factors')
    .argument('<target>', 'whose account (persona handle or login, e.g. dana)')
    .option('--as <persona>', 'who does it (an administrator for resets); default: the target, or whoever holds their session')
    .option('--type <factor>', 'enroll-factor: push, sms, call or token:software:totp', 'push')
    .option('--answer <answer>', 'answer-push: approve or deny', 'approve')
    .action(async (idp: string, action: string, target: string, opts: { as?: string; type: string; answer: string }) => {
      // --dir is the demo command's own option (commander reads it after `act` too).
      const dir = path.resolve(demo.opts<{ dir: string }>().dir);
      const control = await DemoControl.find(dir);
      if (!control) throw new WardenError('ERR_VALIDATION', `no demo is running from ${dir}: start one with \`${wardenCommand()} demo\``);
      const arg = action === 'enroll-factor' ? opts.type : action === 'answer-push' ? opts.answer : undefined;
      const result = await control.act({ idp, action, target, ...(opts.as ? { as: opts.as } : {}), ...(arg ? { arg } : {}) });
      await rt.io.out(`${result.said}\n${result.recordedIn ? `  recorded in ${result.recordedIn}${result.eventId ? `: ${result.eventId}` : ''}\n` : ''}`);
      // Warden decides what the IdP reports (the Okta hook, the Exchange poll); directory audit records wait for its poller.
      if (result.eventId) {
        const play = new Play(control, await control.info(), (text) => void rt.io.out(text), rt.clock);
        play.sayDecision(await play.decisionOn(result.eventId));
      } else await rt.io.out("  Warden reads it at its next poll of Entra's directory audit log (every 10 s in the demo).\n");
    });
}
