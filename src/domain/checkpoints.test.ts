import { boundedVariables, checkpointId, stepVariables, utf8Length } from './checkpoints';
import type { RunResult, StepCheckpoint } from './types';

const step = (stepId: string, results: RunResult[]): StepCheckpoint => ({
  stepId,
  attempt: 1,
  at: '2026-01-01T00:00:00.000Z',
  code: '',
  stdout: '',
  files: [],
  results,
});

describe('checkpoint variables', () => {
  test('a step publishes its trailing value and its ml.json values; figures and markdown are not values', () => {
    expect(
      stepVariables(
        step('a', [
          { json: { rows: 2 }, isMainResult: false },
          { markdown: '# hi', isMainResult: false },
          { json: [1, 2], isMainResult: false },
          { text: '42', isMainResult: true },
        ]),
      ),
    ).toEqual({ result: '42', json: [{ rows: 2 }, [1, 2]] });
    expect(stepVariables(step('b', [{ isMainResult: true, png: undefined }]))).toBeNull();
    expect(stepVariables(step('c', [{ json: { a: 1 }, text: 'x', isMainResult: true }]))).toEqual({
      result: { a: 1 },
    });
  });

  test('the bound keeps whole steps in order and names those left out; the size is that of the JSON', () => {
    const big = 'x'.repeat(600);
    const steps = [
      step('a', [{ text: big, isMainResult: true }]),
      step('b', [{ text: big, isMainResult: true }]),
      step('c', [{ text: 'small', isMainResult: true }]),
      step('d', []),
    ];
    const { variables, bytes, omitted } = boundedVariables(steps, 700);
    expect(Object.keys(variables)).toEqual(['a', 'c']);
    expect(omitted).toEqual(['b']);
    expect(bytes).toBe(JSON.stringify(variables).length);
    expect(boundedVariables([])).toEqual({ variables: {}, bytes: 2, omitted: [] });
  });

  test('sizes are counted in UTF-8 bytes', () => {
    expect(utf8Length('aé€😀')).toBe(1 + 2 + 3 + 4);
    const { bytes, variables } = boundedVariables([step('ü', [{ text: '€', isMainResult: true }])]);
    expect(bytes).toBe(Buffer.byteLength(JSON.stringify(variables)));
  });

  test('ids name the run and the place', () => {
    expect(checkpointId(1, 3)).toBe('cp-1.3');
  });
});
