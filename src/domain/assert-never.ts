/** Ends an exhaustive `switch`: the compiler proves it unreachable, and at run time it says what slipped through. */
export function assertNever(value: never, what = 'value'): never {
  throw new Error(`unexpected ${what}: ${JSON.stringify(value)}`);
}
