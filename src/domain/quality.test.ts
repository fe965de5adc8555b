import { qualityOf } from './quality';

const base = { totalSteps: 2, completeSteps: 2, task: 'Which region grew fastest in 2024?' };

describe('quality of an answer', () => {
  test('numbers the code printed are grounded, at the precision quoted, with separators and percents', () => {
    const quality = qualityOf({
      ...base,
      analysis: 'North grew by 110% (from 1,234.5 to 2,592.45), South by 8.3%; the mean was 12.35.',
      produced: 'growth North 1.1000\ngrowth South 0.08333\nfirst 1234.5 last 2592.449\nmean 12.3456',
    });
    expect(quality).toMatchObject({ numbersQuoted: 5, numbersGrounded: 5, groundedness: 1, completeness: 1, score: 1 });
  });

  test('a number the code never printed scores low, and is named', () => {
    const quality = qualityOf({
      ...base,
      analysis: 'Revenue was 835 in total, and 42% came from North.',
      produced: 'total 835',
    });
    expect(quality).toMatchObject({ numbersQuoted: 2, numbersGrounded: 1, groundedness: 0.5, score: 0.5 });
    expect(quality.ungrounded).toEqual(['42%']);
  });

  test('rounding goes one way only: a quoted 12.35 is not grounded by a printed 12.3', () => {
    expect(qualityOf({ ...base, analysis: 'the mean is 12.35', produced: 'mean 12.3' }).groundedness).toBe(0);
    expect(qualityOf({ ...base, analysis: 'the mean is 12.3', produced: 'mean 12.34' }).groundedness).toBe(1);
  });

  test('numbers from the task are not claims; with no number quoted, the score is completeness alone', () => {
    const quality = qualityOf({
      ...base,
      completeSteps: 1,
      analysis: 'In 2024 North grew fastest.',
      produced: 'North',
    });
    expect(quality).toMatchObject({ numbersQuoted: 0, groundedness: null, completeness: 0.5, score: 0.5 });
  });

  test('skipped or rescued steps lower completeness, and so the score', () => {
    const quality = qualityOf({ ...base, completeSteps: 1, analysis: 'The total is 10.', produced: '10' });
    expect(quality).toMatchObject({ completeness: 0.5, groundedness: 1, score: 0.5 });
  });
});
