#!/usr/bin/env node
// The `ledger` binary. The project runs its TypeScript sources through tsx (as `npm start` does),
// so this shim registers tsx's loader and hands over to the CLI entry.
import { register } from 'tsx/esm/api';

register();
const { runFromProcess } = await import('../src/cli/main.ts');
await runFromProcess();
