#!/usr/bin/env node
// The `warden` executable, and the one place that puts Warden and its
// connectors together (src/ never imports connectors/). Runs the compiled
// code in dist/ (built by `npm ci`, `npm run build` or `npm start`).
// WARDEN_FROM_SOURCE=1 with `node --import tsx` runs the TypeScript sources
// instead (tests use it).
const fromSource = process.env.WARDEN_FROM_SOURCE === '1';
const root = fromSource ? '..' : '../dist';
const ext = fromSource ? 'ts' : 'js';
let cli;
let connectorsModule;
try {
  cli = await import(`${root}/src/app/bin.${ext}`);
  connectorsModule = await import(`${root}/connectors/index.${ext}`);
} catch (err) {
  if (!fromSource && err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('/dist/')) {
    console.error('warden: not built yet. Run `npm run build` (npm ci and npm start do it for you).');
    process.exit(2);
  }
  throw err;
}
await cli.main(connectorsModule.connectors, { demoKit: connectorsModule.demoKit });
