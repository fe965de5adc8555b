/**
 * Closed-form data-analysis questions in the format of InfiAgent-DABench: each question names a data
 * file, its constraints and an answer format of `@label[value]` items; the labels file gives the
 * expected value of each label. Reading, asking, scoring and reporting; no I/O beyond the dataset.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

export interface Question {
  id: number | string;
  question: string;
  constraints: string;
  format: string;
  fileName: string;
  level: string;
}

export interface Dataset {
  dir: string;
  /** The folder of the data files. */
  tables: string;
  questions: Question[];
  /** Expected label values per question id. */
  labels: Map<string, Array<[string, string]>>;
}

/**
 * A dataset folder: `questions.jsonl`, `labels.jsonl` and `tables/`, or the benchmark's own names
 * (`da-dev-questions.jsonl`, `da-dev-labels.jsonl`, `da-dev-tables/`).
 */
export function readDataset(dir: string): Dataset {
  const pick = (...names: string[]) => {
    const found = names.map((name) => path.join(dir, name)).find((candidate) => existsSync(candidate));
    if (!found) throw new Error(`${dir} has none of ${names.join(', ')}`);
    return found;
  };
  const lines = (file: string) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line, index) => {
        try {
          return JSON.parse(line) as Record<string, unknown>;
        } catch {
          throw new Error(`${path.basename(file)} line ${index + 1} is not JSON`);
        }
      });
  const questions = lines(pick('questions.jsonl', 'da-dev-questions.jsonl')).map((row): Question => ({
    id: row.id as number | string,
    question: String(row.question ?? ''),
    constraints: String(row.constraints ?? ''),
    format: String(row.format ?? ''),
    fileName: String(row.file_name ?? ''),
    level: String(row.level ?? 'unknown'),
  }));
  const labels = new Map(
    lines(pick('labels.jsonl', 'da-dev-labels.jsonl')).map((row) => [
      String(row.id),
      (row.common_answers as Array<[string, string]>).map(
        ([name, value]) => [String(name), String(value)] as [string, string],
      ),
    ]),
  );
  const tables = pick('tables', 'da-dev-tables');
  const present = new Set(readdirSync(tables));
  for (const question of questions) {
    if (!present.has(question.fileName))
      throw new Error(`question ${question.id}: ${question.fileName} is not in ${tables}`);
    if (!labels.has(String(question.id))) throw new Error(`question ${question.id} has no labels`);
  }
  return { dir, tables, questions, labels };
}

/** The task sent to the service for one question. */
export function taskFor(question: Question): string {
  return [
    question.question,
    question.constraints ? `Constraints: ${question.constraints}` : null,
    `Answer format: ${question.format}`,
    'In the answer, give every requested value in exactly that @name[value] form.',
  ]
    .filter((part): part is string => part !== null)
    .join('\n');
}

/** Every `@label[value]` in a text; a label given twice keeps its last value. */
export function extractAnswers(text: string): Map<string, string> {
  const answers = new Map<string, string>();
  for (const match of text.matchAll(/@([A-Za-z_][\w-]*)\[([^\]]*)\]/g)) answers.set(match[1], match[2].trim());
  return answers;
}

/** Whether an answer is the expected value: numbers within 1e-6, other values equal ignoring case and spaces. */
export function matches(expected: string, answered: string | undefined): boolean {
  if (answered === undefined) return false;
  const number = (value: string) => (/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(value.trim()) ? Number(value) : NaN);
  const [a, b] = [number(expected), number(answered)];
  if (!Number.isNaN(a) && !Number.isNaN(b)) return Math.abs(a - b) <= 1e-6;
  const normal = (value: string) => value.trim().toLowerCase().replace(/\s+/g, ' ');
  return normal(expected) === normal(answered);
}

export interface QuestionResult {
  id: number | string;
  level: string;
  executionId: string | null;
  status: string;
  correct: boolean;
  labels: Array<{ name: string; expected: string; answered: string | null; correct: boolean }>;
  tokens: { prompt: number; completion: number };
  costUsd: number;
  latencyMs: number;
  attempts: number;
  error: string | null;
}

export function scoreQuestion(
  expected: Array<[string, string]>,
  answers: Map<string, string>,
): Pick<QuestionResult, 'correct' | 'labels'> {
  const labels = expected.map(([name, value]) => ({
    name,
    expected: value,
    answered: answers.get(name) ?? null,
    correct: matches(value, answers.get(name)),
  }));
  return { correct: labels.length > 0 && labels.every((label) => label.correct), labels };
}

export interface Summary {
  questions: number;
  correct: number;
  accuracy: number;
  byLevel: Record<string, { questions: number; correct: number; accuracy: number }>;
  /** The share of all labels answered right (partial credit). */
  labelAccuracy: number;
  tokens: { prompt: number; completion: number };
  costUsd: number;
  latencyMs: { median: number; p95: number };
  attempts: number;
}

export interface Report {
  dataset: string;
  model: string;
  startedAt: string;
  summary: Summary;
  results: QuestionResult[];
}

function nearestRank(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.max(0, Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1))];
}

export function summarize(results: QuestionResult[]): Summary {
  const byLevel: Summary['byLevel'] = {};
  for (const result of results) {
    const level = (byLevel[result.level] ??= { questions: 0, correct: 0, accuracy: 0 });
    level.questions++;
    if (result.correct) level.correct++;
  }
  for (const level of Object.values(byLevel)) level.accuracy = level.correct / level.questions;
  const labels = results.flatMap((result) => result.labels);
  const latencies = results.map((result) => result.latencyMs).sort((a, b) => a - b);
  const correct = results.filter((result) => result.correct).length;
  return {
    questions: results.length,
    correct,
    accuracy: results.length === 0 ? 0 : correct / results.length,
    byLevel,
    labelAccuracy: labels.length === 0 ? 0 : labels.filter((label) => label.correct).length / labels.length,
    tokens: results.reduce(
      (sum, result) => ({
        prompt: sum.prompt + result.tokens.prompt,
        completion: sum.completion + result.tokens.completion,
      }),
      { prompt: 0, completion: 0 },
    ),
    costUsd: results.reduce((sum, result) => sum + result.costUsd, 0),
    latencyMs: { median: nearestRank(latencies, 50), p95: nearestRank(latencies, 95) },
    attempts: results.reduce((sum, result) => sum + result.attempts, 0),
  };
}

/** The report as lines for a person, with the change against `baseline` when given. */
export function describeReport(report: Report, baseline?: Report): string[] {
  const percent = (value: number) => `${(value * 100).toFixed(1)}%`;
  const delta = (now: number, before: number | undefined) =>
    before === undefined ? '' : ` (${now >= before ? '+' : ''}${((now - before) * 100).toFixed(1)} points)`;
  const { summary } = report;
  const lines = [
    `${report.dataset} with ${report.model}: ${summary.correct}/${summary.questions} questions right, accuracy ${percent(summary.accuracy)}${delta(summary.accuracy, baseline?.summary.accuracy)}`,
  ];
  for (const [level, figures] of Object.entries(summary.byLevel).sort()) {
    lines.push(
      `  ${level.padEnd(8)} ${figures.correct}/${figures.questions}  ${percent(figures.accuracy)}${delta(figures.accuracy, baseline?.summary.byLevel[level]?.accuracy)}`,
    );
  }
  lines.push(
    `  labels right ${percent(summary.labelAccuracy)}; tokens ${summary.tokens.prompt} + ${summary.tokens.completion}; cost $${summary.costUsd.toFixed(4)}; latency median ${(summary.latencyMs.median / 1000).toFixed(1)} s, p95 ${(summary.latencyMs.p95 / 1000).toFixed(1)} s; ${summary.attempts} code attempts`,
  );
  if (baseline) {
    const before = new Map(baseline.results.map((result) => [String(result.id), result.correct]));
    const changed = report.results.filter(
      (result) => before.has(String(result.id)) && before.get(String(result.id)) !== result.correct,
    );
    for (const result of changed) lines.push(`  question ${result.id}: ${result.correct ? 'now right' : 'now wrong'}`);
  }
  return lines;
}
