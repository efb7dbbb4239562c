import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WardenError } from './core/errors.js';

let root: string | undefined;

/**
 * The directory holding Warden's package.json, whether running from src/
 * (tests, tsx) or from dist/ (the built CLI). Assets that ship with Warden
 * (migrations, examples) are found from here.
 */
export function packageRoot(): string {
  if (root) return root;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new WardenError('ERR_INTERNAL', 'cannot find the Warden package root');
    dir = parent;
  }
  root = dir;
  return root;
}

/**
 * How a person runs the `warden` command from `cwd`: the checked-in wrapper script at the package root,
 * as a path they can paste (`./warden` from the root, relative inside the clone, absolute outside it). Every
 * message that tells someone to run a command starts with it. Never `npx warden`: outside the clone
 * that resolves an unrelated public package of the same name.
 *
 * @example wardenCommand('/srv/warden') // './warden' when the package root is /srv/warden
 */
export function wardenCommand(cwd: string = process.cwd()): string {
  const wrapper = path.join(packageRoot(), 'warden');
  const inside = path.relative(packageRoot(), cwd);
  if (inside.startsWith('..') || path.isAbsolute(inside)) return wrapper;
  const rel = path.relative(cwd, wrapper);
  return rel === 'warden' ? './warden' : rel;
}
