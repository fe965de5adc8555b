import { rmSync } from 'node:fs';

export default async function globalTeardown(): Promise<void> {
  await globalThis.temporalDevServer?.stop();
  if (process.env.TEST_TMP_DIR) rmSync(process.env.TEST_TMP_DIR, { recursive: true, force: true });
}
