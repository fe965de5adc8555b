#!/usr/bin/env node
// The package runs from its TypeScript sources: tsx compiles them as they load.
import 'tsx';

await import('../src/cli/main.ts');
