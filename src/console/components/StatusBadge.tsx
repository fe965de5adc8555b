const LABELS: Record<string, string> = {
  queued: 'queued',
  starting: 'starting',
  running: 'running',
  paused: 'paused',
  awaiting_input: 'awaiting input',
  succeeded: 'succeeded',
  failed: 'failed',
  cancelled: 'cancelled',
  timed_out: 'timed out',
  pending: 'pending',
  skipped: 'skipped',
};

/** A status in words and colour (the words carry it; the colour only repeats them). */
export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge badge-${status}`}>{LABELS[status] ?? status}</span>;
}
