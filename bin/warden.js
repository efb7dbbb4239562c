#!/usr/bin/env node
// The `warden` executable. Runs the compiled CLI from dist/ (built by `npm ci`,
// `npm run build` or `npm start`). WARDEN_FROM_SOURCE=1 with `node --import tsx`
// runs the TypeScript sources instead (tests use it).
const entry = process.env.WARDEN_FROM_SOURCE === '1' ? '../src/cli/bin.ts' : '../dist/src/cli/bin.js';
try {
  await import(entry);
} catch (err) {
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/src/cli/bin.js')) {
    console.error('warden: not built yet. Run `npm run build` (npm ci and npm start do it for you).');
    process.exitCode = 2;
  } else throw err;
}
