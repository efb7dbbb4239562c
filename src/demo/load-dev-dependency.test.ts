import { describe, expect, it } from 'vitest';
import { isWardenError } from '../core/errors.js';
import { loadDevDependency } from './load-dev-dependency.js';

describe('loadDevDependency', () => {
  it('loads an installed development dependency', async () => {
    const mod = await loadDevDependency<{ default: unknown }>('oidc-provider');
    expect(typeof mod.default).toBe('function');
  });

  it('says the demo needs a development install when the package is missing', async () => {
    const err = await loadDevDependency('oidc-provider', () =>
      Promise.reject(Object.assign(new Error("Cannot find package 'oidc-provider'"), { code: 'ERR_MODULE_NOT_FOUND' })),
    ).catch((e: unknown) => e);
    expect(isWardenError(err) && err.code).toBe('ERR_DEV_INSTALL_REQUIRED');
    expect((err as Error).message).toMatch(
      /^warden demo needs a development install: oidc-provider is a dev dependency .* run `npm ci` \(not `npm ci --omit=dev`\)/,
    );
  });

  it('says so for a package name that does not exist at all', async () => {
    const err = await loadDevDependency('warden-no-such-package-for-the-demo').catch((e: unknown) => e);
    expect(isWardenError(err) && err.code).toBe('ERR_DEV_INSTALL_REQUIRED');
  });

  it('passes on other failures of the import unchanged', async () => {
    const broken = new SyntaxError('Unexpected token');
    expect(await loadDevDependency('oidc-provider', () => Promise.reject(broken)).catch((e: unknown) => e)).toBe(broken);
  });
});
