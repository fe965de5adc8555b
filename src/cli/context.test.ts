import { InvalidArgumentError } from 'commander';
import { parseDuration, wholeNumber } from './context';

describe('option parsers', () => {
  test('durations with a unit', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('10m')).toBe(600_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration('2500ms')).toBe(2500);
    expect(() => parseDuration('10')).toThrow(InvalidArgumentError);
    expect(() => parseDuration('soon')).toThrow('a duration such as');
  });

  test('whole numbers', () => {
    expect(wholeNumber(1)('3')).toBe(3);
    expect(() => wholeNumber(1)('0')).toThrow('from 1');
    expect(() => wholeNumber(1)('2.5')).toThrow(InvalidArgumentError);
  });
});
