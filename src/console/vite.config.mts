import path from 'node:path';
import { defineConfig } from 'vite';

/** The web console, built into dist/console for the gateway to serve at `/` (no CDN, no fonts from elsewhere). */
export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  build: {
    outDir: path.resolve(import.meta.dirname, '../../dist/console'),
    emptyOutDir: true,
    sourcemap: true,
    // One file per page would be premature: the console is small.
    chunkSizeWarningLimit: 1024,
    rolldownOptions: {
      // React Router marks its modules "use client" for servers that render React; no such server here.
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
      },
    },
  },
  oxc: { jsx: { runtime: 'automatic' } },
  logLevel: 'warn',
});
