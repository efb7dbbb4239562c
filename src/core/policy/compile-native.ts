import type { ASTNode } from '@marcbachmann/cel-js';
import { Duration } from '@marcbachmann/cel-js/evaluator';
import { evaluationEnvironment } from './cel-environment.js';

/**
 * Native evaluation. The CEL interpreter re-derives runtime types and
 * overloads on every call, which costs far more than the comparisons policies
 * make. `compileNative` turns the common subset of policy expressions into a
 * JavaScript function that answers true or false only when that is certainly
 * CEL's answer, and "don't know" (undefined) otherwise: for an error, for a
 * value of a type it does not handle, or for any construct outside the
 * subset. The caller then runs the expression through cel-js, which stays the
 * reference (and the source of error messages). `&&`, `||`, `exists` and
 * `all` are three-valued as in CEL: false (resp. true) wins over an error on
 * the other side.
 *
 * The function is generated source (one per expression, so V8 gives each
 * field access its own inline cache), built only from the AST: names and
 * string literals are embedded with JSON.stringify, every other value is
 * passed in as a constant. Where code generation is disabled
 * (--disallow-code-generation-from-strings), there is no native form and
 * cel-js evaluates everything, with the same results.
 */

/** A natively compiled expression: CEL's result when certain, undefined when only the CEL interpreter can tell. */
export type NativePredicate = (variables: Readonly<Record<string, unknown>>) => boolean | undefined;

/** "Only CEL can tell" inside generated code. */
const UNKNOWN: unique symbol = Symbol('unknown');

/** The policy variables (see CEL_VARIABLES): maps, and the timestamp `now`. */
const MAP_VARIABLES = new Set(['change', 'target', 'actor', 'context', 'request']);
const TIMESTAMP_MIN = -62135596800000;
const TIMESTAMP_MAX = 253402300799999;
const MAX_TYPE_DEPTH = 32;
/** Lists of at most this many string literals are compared inline, longer ones through a Set. */
const INLINE_LIST = 6;

/** A value cel-js treats as a map: a plain object (its `constructor` is Object or absent). */
function isMap(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const ctor = (v as { constructor?: unknown }).constructor;
  return ctor === Object || ctor === undefined;
}

function isList(v: unknown): v is unknown[] {
  return typeof v === 'object' && v !== null && (v as { constructor?: unknown }).constructor === Array;
}

/** Values cel-js accepts as `dyn` without further checks (a field value, a comprehension item). */
function isDyn(v: unknown): boolean {
  switch (typeof v) {
    case 'string':
    case 'boolean':
    case 'number':
    case 'bigint':
      return true;
    case 'object':
      return v === null || isMap(v) || isList(v);
    default:
      return false;
  }
}

/** Whether cel-js derives a deep runtime type for `v` without failing: it follows the first element of lists and the first entry of maps. */
function isTypeable(v: unknown, depth = 0): boolean {
  if (depth > MAX_TYPE_DEPTH) return false;
  switch (typeof v) {
    case 'string':
    case 'boolean':
    case 'number':
    case 'bigint':
      return true;
    case 'object':
      if (v === null || v instanceof Date) return true;
      if (isList(v)) return v[0] === undefined || isTypeable(v[0], depth + 1);
      if (isMap(v)) {
        for (const key in v) return isTypeable(v[key], depth + 1);
        return true;
      }
      return false;
    default:
      return false;
  }
}

/** CEL `==` for the types handled natively. */
function equal(a: unknown, b: unknown): boolean | typeof UNKNOWN {
  const t = typeof a;
  if (t !== typeof b) return UNKNOWN;
  if (t === 'string' || t === 'boolean' || t === 'bigint' || t === 'number') return a === b;
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  return UNKNOWN;
}

/** Whether CEL orders the two values as JavaScript's `<` does. */
function ordered(a: unknown, b: unknown): boolean {
  const ta = typeof a;
  const tb = typeof b;
  if (ta === tb)
    return (
      ta === 'string' ||
      ta === 'number' ||
      ta === 'bigint' ||
      ta === 'boolean' ||
      (a instanceof Date && b instanceof Date) ||
      (a instanceof Duration && b instanceof Duration)
    );
  return (ta === 'number' && tb === 'bigint') || (ta === 'bigint' && tb === 'number');
}

/** Timestamp and duration arithmetic, with cel-js's own Duration. */
function arithmetic(plus: boolean, l: unknown, r: unknown): unknown {
  if (l instanceof Date) {
    if (r instanceof Duration) return plus ? r.extendTimestamp(l) : r.subtractTimestamp(l);
    if (r instanceof Date && !plus) return Duration.fromMilliseconds(l.getTime() - r.getTime());
  } else if (l instanceof Duration) {
    if (r instanceof Duration) return plus ? l.addDuration(r) : l.subtractDuration(r);
    if (r instanceof Date && plus) return l.extendTimestamp(r);
  }
  return UNKNOWN;
}

/** `timestamp(string)` exactly as cel-js parses it. */
function timestamp(v: unknown): unknown {
  if (typeof v !== 'string' || v.length < 20 || v.length > 30) return UNKNOWN;
  const d = new Date(v);
  const t = d.getTime();
  return t <= TIMESTAMP_MAX && t >= TIMESTAMP_MIN ? d : UNKNOWN;
}

function size(v: unknown): unknown {
  if (typeof v === 'string') {
    let n = 0;
    for (const _ of v) n++;
    return BigInt(n);
  }
  if (isList(v)) return isTypeable(v) ? BigInt(v.length) : UNKNOWN;
  if (isMap(v)) return isTypeable(v) ? BigInt(Object.keys(v).length) : UNKNOWN;
  return UNKNOWN;
}

/** `x in container` for a container that is not a literal list. */
function contains(x: unknown, container: unknown): unknown {
  if (typeof x !== 'string') return UNKNOWN;
  if (isList(container)) {
    let found = false;
    for (const item of container) {
      if (typeof item !== 'string') return UNKNOWN;
      if (item === x) found = true;
    }
    return found;
  }
  if (isMap(container)) return isTypeable(container) ? Object.hasOwn(container, x) && container[x] !== undefined : UNKNOWN;
  return UNKNOWN;
}

const HELPERS = { hasOwn: Object.hasOwn, isMap, isList, isDyn, equal, ordered, arithmetic, timestamp, size, contains };

/** Writes the generated function, one statement per line. */
class NativeEmitter {
  readonly lines: string[] = [];
  readonly constants: unknown[] = [];
  readonly roots = new Set<string>();
  #next = 0;

  /** A JS test that `value` is a CEL map; variables are checked once, up front (they are U or a map). */
  isMap(value: string): string {
    if (value.startsWith('r_')) return `${value} !== U`;
    const c = this.local('c');
    this.lines.push(`let ${c};`);
    return `typeof ${value} === 'object' && ${value} !== null && ((${c} = ${value}.constructor) === Object || ${c} === undefined)`;
  }

  local(prefix = 't'): string {
    return `${prefix}${this.#next++}`;
  }

  constant(value: unknown): string {
    this.constants.push(value);
    return `K[${this.constants.length - 1}]`;
  }

  /** Emits the statements computing `node` and returns a side-effect-free JS expression for its value (or U). */
  emit(node: ASTNode, scope: ReadonlyMap<string, string>): string {
    switch (node.op) {
      case 'value': {
        const v: unknown = node.args;
        if (typeof v === 'string') return JSON.stringify(v);
        if (typeof v === 'boolean') return String(v);
        if (typeof v === 'number' || typeof v === 'bigint') return this.constant(v);
        return 'U';
      }
      case 'id': {
        const local = scope.get(node.args);
        if (local !== undefined) return local;
        if (MAP_VARIABLES.has(node.args) || node.args === 'now') {
          this.roots.add(node.args);
          return `r_${node.args}`;
        }
        return 'U';
      }
      case '.': {
        const base = this.emit(node.args[0], scope);
        const key = JSON.stringify(node.args[1]);
        const t = this.local();
        const x = this.local('x');
        this.lines.push(
          `let ${t} = U;`,
          `if (${this.isMap(base)}) { const ${x} = ${base}[${key}]; if (${x} !== undefined && ${x} !== null && hasOwn(${base}, ${key}) && isDyn(${x})) ${t} = ${x}; }`,
        );
        return t;
      }
      case '&&':
      case '||': {
        const stop = node.op === '&&' ? 'false' : 'true';
        const go = node.op === '&&' ? 'true' : 'false';
        const a = this.emit(node.args[0], scope);
        const t = this.local();
        this.lines.push(`let ${t} = ${stop};`, `if (${a} !== ${stop}) {`);
        const b = this.emit(node.args[1], scope);
        this.lines.push(`if (${b} !== ${stop}) ${t} = ${a} === ${go} && ${b} === ${go} ? ${go} : U;`, '}');
        return t;
      }
      case '!_': {
        const a = this.emit(node.args, scope);
        const t = this.local();
        this.lines.push(`const ${t} = typeof ${a} === 'boolean' ? !${a} : U;`);
        return t;
      }
      case '?:': {
        const c = this.emit(node.args[0], scope);
        const t = this.local();
        this.lines.push(`let ${t} = U;`, `if (${c} === true) {`);
        const a = this.emit(node.args[1], scope);
        this.lines.push(`${t} = ${a};`, `} else if (${c} === false) {`);
        const b = this.emit(node.args[2], scope);
        this.lines.push(`${t} = ${b};`, '}');
        return t;
      }
      case '==':
      case '!=': {
        const [left, right] = node.args;
        const a = this.emit(left, scope);
        const b = this.emit(right, scope);
        const not = node.op === '!=' ? '!' : '=';
        const t = this.local();
        const literal = [left, right].find((n) => n.op === 'value' && (typeof n.args === 'string' || typeof n.args === 'boolean'));
        if (literal) {
          const other = literal === left ? b : a;
          this.lines.push(`const ${t} = typeof ${other} === '${typeof literal.args}' ? ${a} ${not}== ${b} : U;`);
        } else {
          const e = this.local('e');
          this.lines.push(`const ${e} = equal(${a}, ${b});`, `const ${t} = ${e} === U ? U : ${node.op === '!=' ? `!${e}` : e};`);
        }
        return t;
      }
      case '<':
      case '<=':
      case '>':
      case '>=': {
        const a = this.emit(node.args[0], scope);
        const b = this.emit(node.args[1], scope);
        const t = this.local();
        this.lines.push(`const ${t} = ordered(${a}, ${b}) ? ${a} ${node.op} ${b} : U;`);
        return t;
      }
      case '-':
      case '+': {
        const a = this.emit(node.args[0], scope);
        const b = this.emit(node.args[1], scope);
        const t = this.local();
        this.lines.push(`const ${t} = arithmetic(${node.op === '+'}, ${a}, ${b});`);
        return t;
      }
      case 'in': {
        const [item, list] = node.args;
        const a = this.emit(item, scope);
        const t = this.local();
        if (list.op === 'list' && list.args.every((n) => n.op === 'value' && typeof n.args === 'string')) {
          const values = list.args.map((n) => n.args as string);
          const test =
            values.length === 0
              ? 'false'
              : values.length <= INLINE_LIST
                ? values.map((v) => `${a} === ${JSON.stringify(v)}`).join(' || ')
                : `${this.constant(new Set(values))}.has(${a})`;
          this.lines.push(`const ${t} = typeof ${a} === 'string' ? (${test}) : U;`);
        } else {
          const b = this.emit(list, scope);
          this.lines.push(`const ${t} = contains(${a}, ${b});`);
        }
        return t;
      }
      case 'call': {
        const [name, args] = node.args;
        const arg = args[0];
        if (args.length !== 1 || !arg) return 'U';
        if (name === 'has') {
          if (arg.op !== '.') return 'U';
          const base = this.emit(arg.args[0], scope);
          const key = JSON.stringify(arg.args[1]);
          const t = this.local();
          const x = this.local('x');
          this.lines.push(
            `let ${t} = U;`,
            `if (${this.isMap(base)}) { const ${x} = ${base}[${key}]; ${t} = ${x} === undefined || !hasOwn(${base}, ${key}) ? false : isDyn(${x}) ? true : U; }`,
          );
          return t;
        }
        if ((name === 'duration' || name === 'timestamp') && arg.op === 'value' && typeof arg.args === 'string') {
          // A constant: evaluated once, by cel-js itself.
          try {
            return this.constant(evaluationEnvironment().evaluate(node.input.slice(node.range.start, node.range.end), {}));
          } catch {
            return 'U';
          }
        }
        if (name === 'timestamp' || name === 'size') {
          const a = this.emit(arg, scope);
          const t = this.local();
          this.lines.push(`const ${t} = ${name}(${a});`);
          return t;
        }
        return 'U';
      }
      case 'rcall': {
        const [name, receiver, args] = node.args;
        if (name === 'size' && args.length === 0) {
          const a = this.emit(receiver, scope);
          const t = this.local();
          this.lines.push(`const ${t} = size(${a});`);
          return t;
        }
        if ((name === 'startsWith' || name === 'endsWith' || name === 'contains') && args.length === 1) {
          const s = this.emit(receiver, scope);
          const p = this.emit(args[0]!, scope);
          const t = this.local();
          const method = name === 'contains' ? 'includes' : name;
          this.lines.push(`const ${t} = typeof ${s} === 'string' && typeof ${p} === 'string' ? ${s}.${method}(${p}) : U;`);
          return t;
        }
        if ((name === 'exists' || name === 'all') && args.length === 2 && args[0]!.op === 'id') {
          // exists: any true wins, else any error is an error, else false. all: the same with true and false swapped.
          const decisive = name === 'exists' ? 'true' : 'false';
          const other = name === 'exists' ? 'false' : 'true';
          const list = this.emit(receiver, scope);
          const t = this.local();
          const i = this.local('i');
          const item = this.local('v');
          const unsure = this.local('u');
          this.lines.push(
            `let ${t} = U;`,
            `if (isList(${list})) {`,
            `let ${unsure} = false;`,
            `${t} = ${other};`,
            `for (let ${i} = 0; ${i} < ${list}.length; ${i}++) {`,
          );
          this.lines.push(`const ${item} = ${list}[${i}];`, `if (!isDyn(${item})) { ${unsure} = true; break; }`);
          const p = this.emit(args[1]!, new Map(scope).set(args[0]!.args as string, item));
          this.lines.push(
            `if (${p} === ${decisive}) { ${t} = ${decisive}; ${unsure} = false; break; }`,
            `if (${p} !== ${other}) ${unsure} = true;`,
            '}',
            `if (${unsure}) ${t} = U;`,
            '}',
          );
          return t;
        }
        return 'U';
      }
      default:
        return 'U';
    }
  }
}

/**
 * Compiles an expression for native evaluation (see above). Returns undefined
 * when nothing of it can be decided natively, or when code generation is not
 * allowed in this process.
 *
 * @example
 *   const native = compileNative(evaluationEnvironment().parse(source).ast);
 *   native?.(activation) // true, false, or undefined: ask cel-js
 */
export function compileNative(root: ASTNode): NativePredicate | undefined {
  // cel-js type-checks an expression against the evaluation environment on
  // its first run and fails every run if that check fails: no native form then.
  // (Checked on a fresh parse: checking annotates the AST it is given.)
  if (!evaluationEnvironment().check(root.input).valid) return undefined;
  const emitter = new NativeEmitter();
  const result = emitter.emit(root, new Map());
  if (result === 'U') return undefined;
  const prologue = [...emitter.roots].map((name) =>
    name === 'now'
      ? 'const r_now = v.now instanceof Date ? v.now : U;'
      : `let r_${name} = v.${name}, c_${name}; if (typeof r_${name} !== 'object' || r_${name} === null || ((c_${name} = r_${name}.constructor) !== Object && c_${name} !== undefined)) r_${name} = U;`,
  );
  const source = [
    '"use strict";',
    `const { ${Object.keys(HELPERS).join(', ')} } = H;`,
    'return function native(v) {',
    'try {',
    ...prologue,
    ...emitter.lines,
    `return typeof ${result} === 'boolean' ? ${result} : undefined;`,
    '} catch { return undefined; }',
    '};',
  ].join('\n');
  try {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- generated from the AST only; see above
    return new Function('U', 'H', 'K', source)(UNKNOWN, HELPERS, emitter.constants) as NativePredicate;
  } catch {
    return undefined;
  }
}
