#!/usr/bin/env node
// The CLI entry for `npx airmy`: Node 24 runs the TypeScript sources directly (type stripping).
import '../src/main.ts';
