// Source entry point of the CLI (`node --import tsx src/cli/run.ts serve`): lets tests and
// developers run the gateway as its own process without building dist/ first.
import { main } from './main.js';

await main(process.argv.slice(2));
