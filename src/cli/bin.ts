import { runCli } from './main.js';

// The `warden` executable (bin/warden.js loads the built copy of this file).
process.exitCode = await runCli(process.argv.slice(2));
