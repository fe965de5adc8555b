/**
 * `test` when `condition` holds; otherwise the test is registered as skipped (Jest reports it as
 * such, not as passed) and the reason is printed, so a run on a host that cannot check a claim says
 * so instead of passing over it.
 */
export function testWhen(
  condition: boolean,
  reason: string,
): (name: string, fn: jest.ProvidesCallback, timeout?: number) => void {
  if (condition) return (name, fn, timeout) => test(name, fn, timeout);
  return (name, fn, timeout) => {
    console.warn(`skipped "${name}": ${reason}`);
    test.skip(name, fn, timeout);
  };
}

export const isRoot = process.getuid?.() === 0;
