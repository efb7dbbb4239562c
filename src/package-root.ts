import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

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
    if (parent === dir) throw new Error('cannot find the Warden package root');
    dir = parent;
  }
  root = dir;
  return root;
}
