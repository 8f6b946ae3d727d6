#!/usr/bin/env node
// tsc keeps the source tree's shape (dist/src, dist/projections), so the entry points a runtime
// names, dist/main.js and dist/ledger.js, are written beside it as one-line imports.
import { writeFileSync } from 'node:fs';

writeFileSync(new URL('../dist/main.js', import.meta.url), "import './src/main.js';\n");
writeFileSync(
  new URL('../dist/ledger.js', import.meta.url),
  "const { runFromProcess } = await import('./src/cli/main.js');\nawait runFromProcess();\n",
);
