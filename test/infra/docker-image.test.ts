import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/package-root.js';
import { dockerignore, execForm, parseCopy, parseDockerfile, parseEnv, parseHealthcheck, type Stage } from './dockerfile.js';

/**
 * The container image's runtime layout, without a Docker engine: the test
 * carries out infra/docker/Dockerfile on this machine. Each stage gets a root
 * directory; COPY lines copy exactly what they name (from the build context
 * minus Dockerfile.dockerignore, or from the build stage); the RUN lines are
 * ones the test knows (`npm ci` = this checkout's install of the same lock,
 * `npm run build` = the build script's tsc without its type check, which
 * `npm test` does, `npm prune --omit=dev` = the lock's non-dev packages). Then
 * it runs ENTRYPOINT + CMD from the final stage's WORKDIR with the image's ENV
 * (container paths mapped into the stage root), as a non-root user when it
 * can (root runs it as nobody, the image's `node` stand-in), with the data
 * volume the only directory that user may write. It asserts /readyz answers,
 * the HEALTHCHECK command passes, SIGTERM stops the server cleanly, and that
 * nothing was written outside the data volume.
 */

const ROOT = packageRoot();
const DOCKERFILE = path.join(ROOT, 'infra', 'docker', 'Dockerfile');
const stages = parseDockerfile(readFileSync(DOCKERFILE, 'utf8'));
const ignored = dockerignore(readFileSync(`${DOCKERFILE}.dockerignore`, 'utf8'));

const isRoot = process.getuid?.() === 0;
/** Who runs the server: `nobody` when the test runs as root (root would ignore permissions), else the test's own user. */
const runAs = isRoot ? { uid: 65534, gid: 65534 } : { uid: process.getuid!(), gid: process.getgid!() };

/** What a stage has built: its root directory, the last WORKDIR, ENV and the instructions the run needs. */
interface Built {
  root: string;
  workdir: string;
  env: Record<string, string>;
  user?: string;
  volumes: string[];
  aptPackages: string[];
  entrypoint?: string[];
  cmd?: string[];
  healthcheck?: { options: Record<string, string>; command: string[] };
}

function inRoot(root: string, containerPath: string): string {
  return path.join(root, containerPath);
}

/** Copies a file or tree, hard-linking files where it can (fast; the copy is never written: the test checks). */
function copyTree(from: string, to: string, skip: (rel: string) => boolean = () => false, rel = ''): void {
  const st = lstatSync(from);
  if (st.isSymbolicLink()) {
    symlinkSync(readlinkSync(from), to);
  } else if (st.isDirectory()) {
    mkdirSync(to, { recursive: true });
    chmodSync(to, 0o755);
    for (const entry of readdirSync(from)) {
      const childRel = rel ? `${rel}/${entry}` : entry;
      if (!skip(childRel)) copyTree(path.join(from, entry), path.join(to, entry), skip, childRel);
    }
  } else {
    mkdirSync(path.dirname(to), { recursive: true });
    try {
      linkSync(from, to);
    } catch {
      copyFileSync(from, to);
    }
  }
}

/** `npm prune --omit=dev`: the packages package-lock.json does not mark dev, each without its nested node_modules (listed on their own). */
function prunedNodeModules(lockFile: string, source: string, dest: string): void {
  const lock = JSON.parse(readFileSync(lockFile, 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  for (const [where, entry] of Object.entries(lock.packages)) {
    if (!where || entry.dev) continue;
    const from = path.join(source, '..', where);
    if (!existsSync(from)) continue; // optional, for another platform
    copyTree(from, path.join(dest, '..', where), (rel) => rel.split('/').includes('node_modules'));
  }
}

/** Carries out one stage. */
function buildStage(stage: Stage, index: number, base: string, built: Map<string, Built>): Built {
  const root = path.join(base, `stage-${index}`);
  mkdirSync(root, { recursive: true });
  chmodSync(root, 0o755);
  const state: Built = { root, workdir: '/', env: {}, volumes: [], aptPackages: [] };
  for (const ins of stage.instructions) {
    const where = `Dockerfile line ${ins.line}`;
    const cwd = inRoot(root, state.workdir);
    switch (ins.keyword) {
      case 'WORKDIR':
        state.workdir = path.posix.resolve(state.workdir, ins.args);
        mkdirSync(inRoot(root, state.workdir), { recursive: true });
        break;
      case 'ENV':
        Object.assign(state.env, parseEnv(ins.args, where));
        break;
      case 'COPY': {
        const copy = parseCopy(ins.args, where);
        const dest = path.posix.resolve(state.workdir, copy.dest);
        if (copy.sources.length > 1 && !copy.dest.endsWith('/')) throw new Error(`${where}: several sources need a destination ending in /`);
        for (const src of copy.sources) {
          let from: string;
          let skip: (rel: string) => boolean = () => false;
          if (copy.from) {
            const stageBuilt = built.get(copy.from);
            if (!stageBuilt) throw new Error(`${where}: no stage ${copy.from} before this one`);
            from = inRoot(stageBuilt.root, path.posix.resolve(stageBuilt.workdir, src));
          } else {
            const rel = path.posix.normalize(src).replace(/\/$/, '');
            if (ignored(rel)) throw new Error(`${where}: ${src} is excluded by Dockerfile.dockerignore`);
            from = path.join(ROOT, rel);
            skip = (childRel) => ignored(`${rel}/${childRel}`);
          }
          if (!existsSync(from)) throw new Error(`${where}: ${src} does not exist`);
          const isDir = statSync(from).isDirectory();
          // A directory's contents go into dest; a file goes into dest/ or becomes dest.
          const to = isDir || !copy.dest.endsWith('/') ? inRoot(root, dest) : path.join(inRoot(root, dest), path.basename(src));
          if (isDir) copyTree(from, to, skip);
          else copyTree(from, to);
        }
        break;
      }
      case 'RUN':
        run(ins.args, where, state, cwd);
        break;
      case 'USER':
        state.user = ins.args;
        break;
      case 'VOLUME':
        state.volumes.push(...(ins.args.startsWith('[') ? execForm(ins.args, where) : ins.args.split(/\s+/)));
        break;
      case 'EXPOSE':
        break;
      case 'HEALTHCHECK':
        state.healthcheck = parseHealthcheck(ins.args, where);
        break;
      case 'ENTRYPOINT':
        state.entrypoint = execForm(ins.args, where);
        break;
      case 'CMD':
        state.cmd = execForm(ins.args, where);
        break;
      default:
        throw new Error(`${where}: ${ins.keyword} is not understood by this test`);
    }
  }
  return state;
}

/** The RUN lines this test can carry out without Docker. */
function run(command: string, where: string, state: Built, cwd: string): void {
  const nodeModules = path.join(cwd, 'node_modules');
  if (command === 'npm ci --ignore-scripts') {
    // This checkout's node_modules is `npm ci` of the same lock (.ci/run): use it.
    expect(readFileSync(path.join(cwd, 'package-lock.json'), 'utf8'), `${where}: the lock file in the stage`).toBe(
      readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8'),
    );
    symlinkSync(path.join(ROOT, 'node_modules'), nodeModules);
    return;
  }
  if (command === 'npm run build') {
    const script = (JSON.parse(readFileSync(path.join(cwd, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.build;
    const m = /^tsc (.+)$/.exec(script ?? '');
    if (!m) throw new Error(`${where}: the build script "${script}" is not a tsc call this test can run`);
    const tsc = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), ...m[1]!.split(/\s+/), '--noCheck'], {
      cwd,
      encoding: 'utf8',
    });
    if (tsc.status !== 0) throw new Error(`${where}: ${script} failed:\n${tsc.stdout}${tsc.stderr}`);
    return;
  }
  if (command === 'npm prune --omit=dev') {
    rmSync(nodeModules);
    prunedNodeModules(path.join(cwd, 'package-lock.json'), path.join(ROOT, 'node_modules'), nodeModules);
    return;
  }
  const apt = /^apt-get update && apt-get install -y --no-install-recommends ([a-z0-9 .+-]+) && rm -rf \/var\/lib\/apt\/lists\/\*$/.exec(command);
  if (apt) {
    // OS packages of the base image: nothing to lay out here; the run below checks how they are used.
    state.aptPackages.push(...apt[1]!.split(/\s+/));
    return;
  }
  const dataDir = /^mkdir -p (\/\S+) && chown node:node \1$/.exec(command);
  if (dataDir) {
    const dir = inRoot(state.root, dataDir[1]!);
    mkdirSync(dir, { recursive: true });
    chownSync(dir, runAs.uid, runAs.gid);
    return;
  }
  throw new Error(`${where}: RUN ${command} is not known to this test; teach it what the line does`);
}

/** Every path under dir (symlinks not followed, `except` left out) with its type, mode, size and modification time. */
function snapshot(dir: string, except: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (p: string) => {
    if (p === except) return;
    const st = lstatSync(p);
    out.set(path.relative(dir, p), `${st.mode.toString(8)} ${st.size} ${st.mtimeMs}`);
    if (st.isDirectory()) for (const e of readdirSync(p)) walk(path.join(p, e));
  };
  walk(dir);
  return out;
}

function changes(before: Map<string, string>, after: Map<string, string>): string[] {
  const out: string[] = [];
  for (const [p, v] of after) if (before.get(p) !== v) out.push(before.has(p) ? `changed ${p}` : `created ${p}`);
  for (const p of before.keys()) if (!after.has(p)) out.push(`deleted ${p}`);
  return out;
}

let base: string;
let image: Built;
let server: ChildProcess | undefined;

beforeAll(() => {
  base = mkdtempSync(path.join(tmpdir(), 'warden-image-'));
  chmodSync(base, 0o755);
  const built = new Map<string, Built>();
  stages.forEach((stage, i) => {
    const b = buildStage(stage, i, base, built);
    built.set(stage.name ?? String(i), b);
    image = b;
  });
}, 300_000);

afterAll(() => {
  if (server && server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
  if (base) rmSync(base, { recursive: true, force: true });
});

describe('container image (infra/docker/Dockerfile)', () => {
  it('builds in stages on Node 24 slim and runs as a non-root user under tini, with one data volume and a /readyz health check', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const s of stages) expect(s.from).toMatch(/^node:24(\.\d+)*-[a-z]+-slim$/);
    expect(image.user).toBeDefined();
    expect(['root', '0']).not.toContain(image.user);
    expect(image.aptPackages).toContain('tini');
    expect(image.entrypoint?.slice(0, 2)).toEqual(['/usr/bin/tini', '--']);
    expect(image.volumes).toEqual([image.env.WARDEN_DATA_DIR]);
    expect(image.healthcheck?.command.join(' ')).toContain('/readyz');
    // The build context leaves out what the image never needs.
    for (const p of ['node_modules', 'dist', '.git', '.warden', 'test/infra/docker-image.test.ts', 'src/core/ids.test.ts']) expect(ignored(p), p).toBe(true);
    for (const p of ['package.json', 'src/core/ids.ts', 'connectors/index.ts', 'bin/warden.js']) expect(ignored(p), p).toBe(false);
  });

  it('runs as CMD runs it, answers /readyz, passes its HEALTHCHECK, stops on SIGTERM, and writes only to the data volume', async () => {
    const root = image.root;
    const dataDir = inRoot(root, image.env.WARDEN_DATA_DIR!);
    // The configuration is mounted read-only, as a ConfigMap or `-v …:ro` would be.
    const configFile = inRoot(root, image.env.WARDEN_CONFIG!);
    mkdirSync(path.join(path.dirname(configFile), 'policies'), { recursive: true });
    copyFileSync(path.join(ROOT, 'examples', 'policies', 'acme.yaml'), path.join(path.dirname(configFile), 'policies', 'acme.yaml'));
    writeFileSync(configFile, 'listen: { host: 127.0.0.1 }\ntenants:\n  - id: acme\n    policy: policies/acme.yaml\n');
    for (let d = path.dirname(configFile); d.startsWith(root); d = path.dirname(d)) chmodSync(d, 0o755);
    // A home and a temporary directory the user could write to: they must stay empty.
    const home = path.join(base, 'home');
    const tmp = path.join(base, 'tmp');
    for (const d of [home, tmp]) {
      mkdirSync(d);
      chownSync(d, runAs.uid, runAs.gid);
    }
    const env = {
      ...Object.fromEntries(Object.entries(image.env).map(([k, v]) => [k, v.startsWith('/') ? inRoot(root, v) : v])),
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: home,
      TMPDIR: tmp,
      PORT: '0',
    };
    const argv = [...image.entrypoint!.slice(2), ...image.cmd!];
    expect(argv[0]).toBe('node');
    const before = snapshot(root, dataDir);

    const child = spawn(process.execPath, argv.slice(1), { cwd: inRoot(root, image.workdir), env, ...runAs, stdio: ['ignore', 'pipe', 'pipe'] });
    server = child;
    let output = '';
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      const onData = (d: Buffer) => {
        output += d.toString();
        for (const line of output.split('\n').slice(0, -1)) {
          if (!line.startsWith('{')) continue;
          const entry = JSON.parse(line) as { msg?: string; url?: string };
          if (entry.msg === 'listening' && entry.url) resolve(entry.url);
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      void exited.then((code) => reject(new Error(`the server exited (${code}) before listening:\n${output}`)));
    });
    const port = new URL(url).port;

    const ready = await fetch(`${url}/readyz`);
    const body = (await ready.json()) as { status: string; checks: Record<string, { ok: boolean }> };
    expect(ready.status, JSON.stringify(body)).toBe(200);
    expect(body.status).toBe('ready');
    expect((await fetch(`${url}/metrics`)).status).toBe(200);

    const healthcheck = () => {
      const [cmd, ...args] = image.healthcheck!.command;
      expect(cmd).toBe('node');
      return spawnSync(process.execPath, args, { env: { ...env, PORT: port }, ...runAs, encoding: 'utf8', timeout: 60_000 }).status;
    };
    expect(healthcheck()).toBe(0);
    // The embedded store lives in the data volume, and it is written to.
    expect(readdirSync(dataDir)).toEqual(expect.arrayContaining(['pglite', 'warden.lock']));

    child.kill('SIGTERM');
    expect(await exited, output).toBe(0);
    expect(healthcheck()).toBe(1);

    expect(changes(before, snapshot(root, dataDir))).toEqual([]);
    expect(readdirSync(home)).toEqual([]);
    expect(readdirSync(tmp)).toEqual([]);
  }, 300_000);
});
