/**
 * A small reader of the Dockerfile syntax infra/docker/Dockerfile uses
 * (stages, exec-form JSON arrays, COPY flags, ENV pairs, HEALTHCHECK options)
 * and of `.dockerignore` patterns, for test/infra/docker-image.test.ts. It is
 * not a general Dockerfile parser: what it does not know, it refuses.
 */

/** One instruction, with its continuation lines joined. */
export interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

/** A build stage: its base image, its name (`AS name`) and its instructions. */
export interface Stage {
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** Splits a Dockerfile into stages. Comments and parser directives are dropped. */
export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i + 1;
    let line = lines[i]!;
    if (/^\s*(#|$)/.test(line)) continue;
    while (line.endsWith('\\') && i + 1 < lines.length) {
      line = line.slice(0, -1) + ' ' + lines[++i]!.trim();
    }
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`Dockerfile line ${start}: cannot read "${line}"`);
    const keyword = m[1]!.toUpperCase();
    const args = m[2]!.trim();
    if (keyword === 'FROM') {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!from) throw new Error(`Dockerfile line ${start}: cannot read FROM ${args}`);
      stages.push({ from: from[1]!, name: from[2], instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) throw new Error(`Dockerfile line ${start}: ${keyword} before FROM`);
    stage.instructions.push({ keyword, args, line: start });
  }
  return stages;
}

/** The exec form (a JSON array of strings), or throws: Warden's Dockerfile uses no shell form for commands. */
export function execForm(args: string, where: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(args);
  } catch {
    throw new Error(`${where}: not in exec form (a JSON array): ${args}`);
  }
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) throw new Error(`${where}: not a JSON array of strings: ${args}`);
  return parsed;
}

/** COPY [--from=stage] [--chown=…] src… dest (whitespace-separated form). */
export interface Copy {
  from: string | undefined;
  sources: string[];
  dest: string;
}

export function parseCopy(args: string, where: string): Copy {
  const words = args.split(/\s+/);
  let from: string | undefined;
  while (words[0]?.startsWith('--')) {
    const flag = words.shift()!;
    const m = /^--from=(.+)$/.exec(flag);
    if (m) from = m[1];
    else throw new Error(`${where}: COPY flag ${flag} is not understood by this test`);
  }
  if (words.length < 2) throw new Error(`${where}: COPY needs a source and a destination`);
  const dest = words.pop()!;
  return { from, sources: words, dest };
}

/** ENV key=value … (values without spaces, or double-quoted). */
export function parseEnv(args: string, where: string): Record<string, string> {
  const env: Record<string, string> = {};
  const re = /([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)\s*/gy;
  let m: RegExpExecArray | null;
  let end = 0;
  while ((m = re.exec(args))) {
    env[m[1]!] = m[2]!.startsWith('"') ? (JSON.parse(m[2]!) as string) : m[2]!;
    end = re.lastIndex;
  }
  if (end !== args.length) throw new Error(`${where}: ENV must be key=value pairs: ${args}`);
  return env;
}

/** HEALTHCHECK [--option=value…] CMD [exec form]. */
export function parseHealthcheck(args: string, where: string): { options: Record<string, string>; command: string[] } {
  const options: Record<string, string> = {};
  let rest = args;
  for (let m = /^--([a-z-]+)=(\S+)\s+/.exec(rest); m; m = /^--([a-z-]+)=(\S+)\s+/.exec(rest)) {
    options[m[1]!] = m[2]!;
    rest = rest.slice(m[0].length);
  }
  const cmd = /^CMD\s+(.*)$/.exec(rest);
  if (!cmd) throw new Error(`${where}: HEALTHCHECK without CMD`);
  return { options, command: execForm(cmd[1]!, where) };
}

function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*') {
      // `**/` matches any number of directories, including none.
      re += pattern[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += pattern[i + 2] === '/' ? 2 : 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/**
 * `.dockerignore` as Docker reads it for the patterns Warden uses: one pattern a
 * line, `#` comments, `*`, `?` and `**`, matched against the path from the
 * context root; a path is excluded when it or one of its parent directories
 * matches. Exceptions (`!`) are refused.
 */
export function dockerignore(text: string): (relPath: string) => boolean {
  const patterns = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      if (l.startsWith('!')) throw new Error(`.dockerignore exception ${l} is not understood by this test`);
      return globToRegExp(l.replace(/^\/+/, '').replace(/\/+$/, ''));
    });
  return (relPath) => {
    const parts = relPath.split('/');
    for (let n = 1; n <= parts.length; n++) {
      const prefix = parts.slice(0, n).join('/');
      if (patterns.some((p) => p.test(prefix))) return true;
    }
    return false;
  };
}
