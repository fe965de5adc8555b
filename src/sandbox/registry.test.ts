import { loadConfig } from '../config';
import { createSandboxes } from './registry';

const warn = (message: string) => {
  throw new Error(`unexpected warning: ${message}`);
};

test('the worker builds the backends the configuration offers, and only those', async () => {
  // E2B as the default: the local sandbox (bubblewrap) is not offered, so not built or checked.
  const sandboxes = await createSandboxes(loadConfig({ SANDBOX: 'e2b', E2B_API_KEY: 'k' }), { warn });

  expect(Object.keys(sandboxes)).toEqual(['e2b']);
  expect(sandboxes.e2b?.kind).toBe('e2b');
  await sandboxes.e2b?.close();
});
