/**
 * Temporal warns when an execution's history passes 10,240 events or 10 MB, and terminates it at
 * 51,200 events or 50 MB. An execution stops taking on new work a margin before the warning, so it
 * can still end cleanly and be retried from a step into a fresh history. The margin covers what is
 * already in flight when the limit is seen (up to 20 parallel attempts of about 60 KB each) and the
 * final snapshot (at most about 1 MB): `npm run bench:history` measures the worst case.
 */
export const HISTORY_SOFT_EVENTS = 8_000;
export const HISTORY_SOFT_BYTES = 6 * 1024 * 1024;

/** Why the execution must not take on more work, or null while its history has room. Pure. */
export function historyPressure(history: { length: number; bytes: number }): string | null {
  if (history.length >= HISTORY_SOFT_EVENTS) {
    return `its history has ${history.length} events, near Temporal's limit; retry from this step to go on`;
  }
  if (history.bytes >= HISTORY_SOFT_BYTES) {
    const mb = (history.bytes / 1024 / 1024).toFixed(1);
    return `its history has ${mb} MB, near Temporal's limit; retry from this step to go on`;
  }
  return null;
}
