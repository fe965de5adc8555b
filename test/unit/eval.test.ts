import path from 'node:path';
import {
  describeReport,
  extractAnswers,
  matches,
  readDataset,
  scoreQuestion,
  summarize,
  taskFor,
} from '../../eval/dabench';

const DATASET = path.resolve(__dirname, '../../eval/dataset');

describe('the eval of answer quality', () => {
  test('reads the shipped set, and asks each question with its constraints and format', () => {
    const dataset = readDataset(DATASET);
    expect(dataset.questions.map((question) => question.level)).toEqual(['easy', 'medium', 'medium', 'hard']);
    expect(dataset.labels.get('2')).toEqual([
      ['region', 'North'],
      ['revenue', '210'],
    ]);
    const task = taskFor(dataset.questions[2]);
    expect(task).toContain('Constraints: Leave out missing readings.');
    expect(task).toContain('Answer format: @mean_reading[mean] @failed_count[count]');
  });

  test('takes @label[value] answers out of text, the last of a label winning', () => {
    const answers = extractAnswers('First @mean[1.0], then, corrected: @mean[ 2.88 ] and @failed_count[2].');
    expect([...answers]).toEqual([
      ['mean', '2.88'],
      ['failed_count', '2'],
    ]);
  });

  test('numbers match within 1e-6, other values ignoring case and spaces', () => {
    expect(matches('2.88', '2.8800000001')).toBe(true);
    expect(matches('2.88', '2.881')).toBe(false);
    expect(matches('North', ' north ')).toBe(true);
    expect(matches('North', 'South')).toBe(false);
    expect(matches('835', undefined)).toBe(false);
  });

  test('a question is right when all its labels are; the summary counts by level and by label', () => {
    const right = scoreQuestion([['a', '1']], new Map([['a', '1']]));
    const half = scoreQuestion(
      [
        ['b', '2'],
        ['c', 'x'],
      ],
      new Map([['b', '2']]),
    );
    expect(right.correct).toBe(true);
    expect(half).toMatchObject({ correct: false, labels: [{ correct: true }, { answered: null, correct: false }] });
    const result = (id: number, level: string, scored: typeof right) => ({
      id,
      level,
      executionId: null,
      status: 'succeeded',
      ...scored,
      tokens: { prompt: 10, completion: 5 },
      costUsd: 0.001,
      latencyMs: 1000 * id,
      attempts: 1,
      error: null,
    });
    const summary = summarize([result(1, 'easy', right), result(2, 'hard', half)]);
    expect(summary).toMatchObject({
      questions: 2,
      correct: 1,
      accuracy: 0.5,
      byLevel: { easy: { accuracy: 1 }, hard: { accuracy: 0 } },
      labelAccuracy: 2 / 3,
      tokens: { prompt: 20, completion: 10 },
      latencyMs: { median: 1000, p95: 2000 },
    });
    const report = {
      dataset: 'x',
      model: 'm',
      startedAt: '',
      summary,
      results: [result(1, 'easy', right), result(2, 'hard', half)],
    };
    const earlier = { ...report, summary: { ...summary, accuracy: 0.25 }, results: [result(1, 'easy', half)] };
    const lines = describeReport(report, earlier);
    expect(lines[0]).toBe('x with m: 1/2 questions right, accuracy 50.0% (+25.0 points)');
    expect(lines).toContain('  question 1: now right');
  });

  test('a folder without a question set is refused with the reason', () => {
    expect(() => readDataset(path.resolve(__dirname))).toThrow(/has none of questions\.jsonl, da-dev-questions\.jsonl/);
  });
});
