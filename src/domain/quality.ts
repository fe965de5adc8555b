/**
 * How much an execution's answer can be trusted, from what the record holds. Pure.
 *
 * - completeness: the share of the plan's steps that succeeded on their own terms (not skipped, not
 *   rescued by a fallback);
 * - groundedness: the share of the numbers the analysis quotes that the code actually produced (in
 *   its output or its values), after normalising thousands separators, percent signs and rounding
 *   to the precision quoted; numbers that come from the task itself are not counted as claims;
 * - score: completeness × groundedness; with no number quoted, groundedness cannot be judged and the
 *   score is completeness alone (`groundedness: null` says so).
 */
export interface Quality {
  score: number;
  completeness: number;
  groundedness: number | null;
  /** The numbers the analysis quotes (those of the task left out). */
  numbersQuoted: number;
  /** Of those, the ones found in what the code produced. */
  numbersGrounded: number;
  /** Up to ten quoted numbers that the code never produced, as quoted. */
  ungrounded: string[];
}

export interface QualityInput {
  totalSteps: number;
  /** Steps that succeeded without a skip or a fallback. */
  completeSteps: number;
  analysis: string;
  /** What the code printed and returned, every succeeded attempt's. */
  produced: string;
  task: string;
}

/** A number as written: digits with optional thousands separators and decimals, and a percent sign. */
const NUMBER = /(?<![\w.])[-−]?(?:\d{1,3}(?:[,\u202f\u00a0 ]\d{3})+|\d+)(?:\.\d+)?(?:e[-+]?\d+)?\s?%?(?![\w])/gi;

interface Quoted {
  text: string;
  value: number;
  /** Decimals written: the precision the number claims. */
  decimals: number;
  percent: boolean;
}

function parse(text: string): Quoted[] {
  const found: Quoted[] = [];
  for (const match of text.matchAll(NUMBER)) {
    const raw = match[0].trim();
    const percent = raw.endsWith('%');
    const digits = raw
      .replace(/%$/, '')
      .trim()
      .replace(/^−/, '-')
      .replace(/[,\u202f\u00a0 ](?=\d{3}\b)/g, '');
    const value = Number(digits);
    if (!Number.isFinite(value)) continue;
    const decimals = /\.(\d+)/.exec(digits.split(/e/i)[0])?.[1].length ?? 0;
    found.push({ text: raw, value, decimals, percent });
  }
  return found;
}

function roundTo(value: number, decimals: number): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}

/**
 * Whether one of the produced numbers, rounded to the precision `quoted` is written with, is it; a
 * percentage may have been produced as a percentage or as a fraction.
 */
function grounded(quoted: Quoted, produced: number[]): boolean {
  return produced.some(
    (value) =>
      roundTo(value, quoted.decimals) === quoted.value ||
      (quoted.percent && roundTo(value * 100, quoted.decimals) === quoted.value),
  );
}

export function qualityOf(input: QualityInput): Quality {
  const completeness = input.totalSteps === 0 ? 0 : input.completeSteps / input.totalSteps;
  const fromTask = new Set(parse(input.task).map((number) => number.value));
  const quoted = parse(input.analysis).filter((number) => !fromTask.has(number.value));
  const produced = parse(input.produced).map((number) => number.value);
  const misses = quoted.filter((number) => !grounded(number, produced));
  const groundedness = quoted.length === 0 ? null : (quoted.length - misses.length) / quoted.length;
  return {
    score: completeness * (groundedness ?? 1),
    completeness,
    groundedness,
    numbersQuoted: quoted.length,
    numbersGrounded: quoted.length - misses.length,
    ungrounded: misses.slice(0, 10).map((number) => number.text),
  };
}
