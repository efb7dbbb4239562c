import { WardenError } from '../core/errors.js';

/**
 * Imports a development dependency the demo needs (oidc-provider). A
 * production install (`npm ci --omit=dev`) has none: then the demo stops
 * with a message that says what to do, not with a stack trace. Other
 * failures of the import are passed on as they are.
 *
 * @throws WardenError `ERR_DEV_INSTALL_REQUIRED` when the package is not installed
 */
// biome-ignore lint/suspicious/noExplicitAny: a module's namespace as imported; callers name its type
export async function loadDevDependency<T = any>(name: string, importer: (name: string) => Promise<T> = (n) => import(n) as Promise<T>): Promise<T> {
  try {
    return await importer(name);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') throw err;
    throw new WardenError(
      'ERR_DEV_INSTALL_REQUIRED',
      `warden demo needs a development install: ${name} is a dev dependency and is not installed. In a clone of Warden, run \`npm ci\` (not \`npm ci --omit=dev\`), then \`./warden demo\`.`,
      { cause: err },
    );
  }
}
