import type { Progress } from '../domain/types';
import { clip, formatBytes, formatDuration, formatStep, logLines, progressLine, table } from './format';

const progress = (over: Partial<Progress> = {}): Progress => ({
  percentage: 40,
  completedSteps: 1,
  totalSteps: 3,
  currentPhase: 'executing',
  currentStep: 'load',
  estimatedTimeRemainingMs: 65_000,
  ...over,
});

describe('formatting', () => {
  test('durations read as a person says them', () => {
    expect(formatDuration(null)).toBe('–');
    expect(formatDuration(-1)).toBe('–');
    expect(formatDuration(400)).toBe('0s');
    expect(formatDuration(45_000)).toBe('45s');
    expect(formatDuration(125_000)).toBe('2m 05s');
    expect(formatDuration(4_200_000)).toBe('1h 10m');
  });

  test('sizes', () => {
    expect(formatBytes(812)).toBe('812 B');
    expect(formatBytes(12_595)).toBe('12.3 KB');
    expect(formatBytes(4 * 1024 * 1024)).toBe('4.0 MB');
  });

  test('a progress line names the phase, the step of how many, the percent and the time left', () => {
    expect(progressLine('running', progress())).toBe('running  executing  step 2/3 load  40%  1m 05s left');
    expect(formatStep(progress({ totalSteps: 0, currentStep: null }))).toBe('–');
    expect(formatStep(progress({ completedSteps: 3, currentStep: null }))).toBe('step 3/3');
  });

  test('timeline and messages are merged in the order they happened', () => {
    const lines = logLines(
      [
        {
          seq: 1,
          type: 'init',
          event: 'EXECUTION_STARTED',
          at: '2026-01-02T10:00:00.000Z',
          stepId: null,
          description: 'started',
        },
        {
          seq: 3,
          type: 'step',
          event: 'STEP_COMPLETED',
          at: '2026-01-02T10:00:02.000Z',
          stepId: 'main',
          description: '',
        },
      ],
      [{ seq: 2, level: 'warning', message: 'column renamed', at: '2026-01-02T10:00:01.000Z', stepId: 'main' }],
    );
    expect(lines).toEqual([
      '10:00:00 EXECUTION_STARTED started',
      '10:00:01 WARNING [main] column renamed',
      '10:00:02 STEP_COMPLETED [main]',
    ]);
  });

  test('tables line up their columns; long text is clipped on one line', () => {
    expect(
      table([
        ['ID', 'STATUS'],
        ['exec-1', 'running'],
        ['e2', 'ok'],
      ]),
    ).toEqual(['ID      STATUS', 'exec-1  running', 'e2      ok']);
    expect(clip('a\nb  c', 10)).toBe('a b c');
    expect(clip('abcdefghij', 5)).toBe('abcd…');
  });
});
