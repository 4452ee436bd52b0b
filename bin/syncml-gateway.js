#!/usr/bin/env node
// Entry point of the `syncml-gateway` command: runs the compiled CLI (npm install builds it).
import('../dist/cli/main.js').then((m) => m.main(process.argv.slice(2))).catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
