import { assertNever } from '../domain/assert-never';
import type { Awaiting, ExecutionMessage, Progress, TimelineEvent } from '../domain/types';
import type { ExecutionRow, ScheduleView, Snapshot, TaskView } from './views';

/** `ms` as a person reads a time left: `45s`, `2m 05s`, `1h 10m`; a dash when it is not known. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return '–';
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, '0')}m`;
}

/** A size in bytes as `812 B`, `12.3 KB`, `4.0 MB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** The step part of a progress line: `step 2/3 load`, or a dash before the plan has steps. */
export function formatStep(progress: Progress): string {
  if (progress.totalSteps === 0) return progress.currentStep ?? '–';
  const position = Math.min(progress.completedSteps + 1, progress.totalSteps);
  return `step ${position}/${progress.totalSteps}${progress.currentStep ? ` ${progress.currentStep}` : ''}`;
}

/** One line of progress, as `--follow` prints it when it cannot draw a bar. */
export function progressLine(status: string, progress: Progress): string {
  return [
    status,
    progress.currentPhase,
    formatStep(progress),
    `${Math.round(progress.percentage)}%`,
    `${formatDuration(progress.estimatedTimeRemainingMs)} left`,
  ].join('  ');
}

const clock = (iso: string) => (iso.length >= 19 ? iso.slice(11, 19) : iso);

export function timelineLine(event: TimelineEvent): string {
  const step = event.stepId ? ` [${event.stepId}]` : '';
  return `${clock(event.at)} ${event.event}${step}${event.description ? ` ${event.description}` : ''}`;
}

export function messageLine(message: ExecutionMessage): string {
  const step = message.stepId ? ` [${message.stepId}]` : '';
  return `${clock(message.at)} ${message.level.toUpperCase()}${step} ${message.message}`;
}

/** The timeline and the messages, merged in the order they happened. */
export function logLines(timeline: TimelineEvent[], messages: ExecutionMessage[]): string[] {
  const entries = [
    ...timeline.map((event) => ({ seq: event.seq, order: 0, text: timelineLine(event) })),
    ...messages.map((message) => ({ seq: message.seq, order: 1, text: messageLine(message) })),
  ];
  return entries.sort((a, b) => a.seq - b.seq || a.order - b.order).map((entry) => entry.text);
}

/** What to type to answer a question, by its kind. */
export function answerHint(id: string, awaiting: Awaiting): string {
  switch (awaiting.kind) {
    case 'approval':
      return `agent-exec answer ${id} --approve (or --reject --text "why")`;
    case 'recovery':
    case 'input':
      return `agent-exec answer ${id} --text "a hint" | --code fix.py | --reject`;
    case 'budget':
      return `agent-exec answer ${id} --approve --budget <usd> | --reject`;
    default:
      return assertNever(awaiting.kind, 'question kind');
  }
}

/** Rows of text in columns, each as wide as its widest cell; the last column is not padded. */
export function table(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows.map((row) =>
    row
      .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column])))
      .join('  ')
      .trimEnd(),
  );
}

/** `text` cut to `max` characters on one line. */
export function clip(text: string | null | undefined, max: number): string {
  const flat = (text ?? '').replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

export function executionTable(rows: ExecutionRow[]): string[] {
  if (rows.length === 0) return ['No executions.'];
  return table([
    ['ID', 'STATUS', 'KIND', 'TRIGGER', 'CREATED', 'TASK'],
    ...rows.map((row) => [
      row.id,
      row.status,
      row.kind ?? '–',
      row.triggeredBy ?? '–',
      row.createdAt?.slice(0, 19).replace('T', ' ') ?? '–',
      clip(row.task, 60),
    ]),
  ]);
}

/** What `status ID` prints: the state, progress, the question or the answer, and the files. */
export function statusReport(snapshot: Snapshot): string[] {
  const lines = [`${snapshot.id}  ${snapshot.status}${snapshot.stale ? '  (stale: no worker answers)' : ''}`];
  if (snapshot.task) lines.push(`task      ${clip(snapshot.task, 100)}`);
  if (snapshot.namedTask) lines.push(`named     ${snapshot.namedTask.slug} v${snapshot.namedTask.version}`);
  if (snapshot.parentId) lines.push(`retry of  ${snapshot.parentId}`);
  lines.push(`progress  ${progressLine(snapshot.status, snapshot.progress).split('  ').slice(1).join('  ')}`);
  for (const step of snapshot.steps) {
    const last = step.attempts.at(-1);
    const attempts = step.attempts.length === 1 ? '1 attempt' : `${step.attempts.length} attempts`;
    lines.push(`  ${step.id}  ${step.status}  ${attempts}${last?.error ? `  ${last.error.code}` : ''}`);
  }
  if (snapshot.awaiting) {
    lines.push(`waiting   ${snapshot.awaiting.kind}: ${clip(snapshot.awaiting.prompt, 200)}`);
    lines.push(`answer    ${answerHint(snapshot.id, snapshot.awaiting)}`);
  }
  if (snapshot.error) lines.push(`error     ${snapshot.error.code}: ${clip(snapshot.error.message, 300)}`);
  const metrics = snapshot.metrics;
  lines.push(
    `metrics   ${formatDuration(metrics.totalDurationMs)} total, ${metrics.tokens.prompt + metrics.tokens.completion} tokens, $${metrics.costUsd.toFixed(4)}`,
  );
  const files = snapshot.result?.files ?? [];
  if (files.length > 0) lines.push(`files     ${files.map((file) => file.name).join(', ')}`);
  if (snapshot.result?.analysis) lines.push('', snapshot.result.analysis);
  return lines;
}

export function taskTable(tasks: TaskView[]): string[] {
  if (tasks.length === 0) return ['No tasks.'];
  return table([
    ['SLUG', 'VERSION', 'PARAMETERS', 'TITLE'],
    ...tasks.map((task) => [
      task.slug,
      `v${task.version}`,
      Object.keys(task.parameters.properties).join(',') || '–',
      clip(task.title, 60),
    ]),
  ]);
}

export function taskReport(task: TaskView): string[] {
  const lines = [`${task.slug}  v${task.version}  ${task.title}`, `description  ${task.description}`];
  for (const [name, parameter] of Object.entries(task.parameters.properties)) {
    const required = task.parameters.required.includes(name) ? ' (required)' : '';
    const fallback = parameter.default === undefined ? '' : ` = ${JSON.stringify(parameter.default)}`;
    const choices = parameter.enum ? ` one of ${parameter.enum.map((value) => JSON.stringify(value)).join(', ')}` : '';
    lines.push(`  --input ${name}=<${parameter.type}>${required}${fallback}${choices}`);
  }
  lines.push(`runs         ${task.code === null ? (task.plan ? 'its plan' : 'the model') : 'its code'}`);
  if (task.files.length > 0) lines.push(`files        ${task.files.map((file) => file.name).join(', ')}`);
  if (task.versions) lines.push(`versions     ${task.versions.map((version) => `v${version.version}`).join(' ')}`);
  return lines;
}

export function scheduleTable(schedules: ScheduleView[]): string[] {
  if (schedules.length === 0) return ['No schedules.'];
  return table([
    ['ID', 'WHEN', 'STATE', 'NEXT RUN', 'INPUTS'],
    ...schedules.map((schedule) => [
      schedule.id,
      schedule.spec.cron ?? `every ${schedule.spec.every}`,
      schedule.paused ? 'paused' : 'active',
      schedule.paused ? '–' : (schedule.nextRuns[0]?.slice(0, 19).replace('T', ' ') ?? '–'),
      JSON.stringify(schedule.inputs),
    ]),
  ]);
}
