import { open } from 'node:fs/promises';
import type { SandboxInputFile } from './types';

/** An input whose bytes are a file on this host, as tests and benches hand them in. */
export function hostFileInput(name: string, path: string): SandboxInputFile {
  return {
    name,
    // Opened here rather than by a lazy stream, so that a missing file rejects at once.
    open: async () => (await open(path, 'r')).createReadStream(),
  };
}
