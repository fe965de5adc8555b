import type { Plan, PlanStep } from '../domain/types';
import { clip } from '../domain/clip';
import { rootPlacement } from '../domain/file-names';

/** What the model is shown of an uploaded file: its profile where the sandbox made one, else its first lines. */
export interface FilePreview {
  name: string;
  size: number;
  preview: string;
  /** The file's profile as text (format, shape, columns with types, missing values, examples). */
  profile?: string;
}

/** A failed earlier attempt, shown to the model so it can fix the code. */
export interface PreviousAttempt {
  code: string;
  error: string;
}

export interface Prompt {
  system: string;
  user: string;
}

const MAX_ERROR_CHARS = 4000;
const MAX_OUTPUT_CHARS = 6000;
/** A brief prompt, for a model whose context the full one does not fit: each part cut to these. */
const BRIEF_FILE_CHARS = 600;
const BRIEF_CODE_CHARS = 2000;
const BRIEF_ERROR_CHARS = 800;
const BRIEF_OUTPUT_CHARS = 1500;

/** Where the sandbox puts an uploaded file: the working directory, and `/<name>` unless that is a system path. */
function whereIs(name: string): string {
  return rootPlacement(name).kind === 'root'
    ? `in the working directory and at /${name}`
    : 'in the working directory only: its name is a system path';
}

function describeFiles(files: FilePreview[], brief = false): string {
  if (files.length === 0) return 'No data files were given.';
  return files
    .map((file) => {
      const head = `File "${file.name}" (${file.size} bytes, ${whereIs(file.name)})`;
      const text = file.profile
        ? `${head}, profiled:\n${file.profile}`
        : `${head}, first lines:\n${file.preview || '(binary or empty)'}`;
      return brief ? clip(text, BRIEF_FILE_CHARS) : text;
    })
    .join('\n\n');
}

/** Options shared by the prompts. */
export interface PromptOptions {
  /** The shorter form: less of each file, of the output, and only the last failed attempt, cut. */
  brief?: boolean;
}

export function planPrompt(task: string, files: FilePreview[], options: PromptOptions = {}): Prompt {
  return {
    system: [
      'You plan data-analysis jobs that will be carried out by Python code in a sandbox.',
      'Answer with one JSON object and nothing else, of the form',
      '{"steps": [{"id": "load", "title": "…", "description": "…", "dependsOn": []}]}.',
      'Ids are short, lowercase, unique. Use a single step unless the job really has separate parts.',
    ].join('\n'),
    user: `Task:\n${task}\n\nData files (in the working directory, and read-only at /<name>):\n${describeFiles(files, options.brief)}`,
  };
}

/** The plan prompt again, after an answer that was not a valid plan: the problems, to fix them. */
export function planRetryPrompt(prompt: Prompt, answer: string, problems: string[]): Prompt {
  return {
    system: prompt.system,
    user: [
      prompt.user,
      `Your previous answer was:\n${clip(answer, MAX_ERROR_CHARS)}`,
      `It is not a valid plan:\n${problems.map((problem) => `- ${problem}`).join('\n')}`,
      'Answer again with the whole plan as one JSON object.',
    ].join('\n\n'),
  };
}

export interface CodePromptInput {
  task: string | null;
  plan: Plan;
  step: PlanStep;
  files: FilePreview[];
  previousAttempts: PreviousAttempt[];
  hints?: string[];
}

export function codePrompt(input: CodePromptInput, options: PromptOptions = {}): Prompt {
  const { brief = false } = options;
  const shown = brief ? input.previousAttempts.slice(-1) : input.previousAttempts;
  const first = input.previousAttempts.length - shown.length;
  const attempts = shown.map(
    (attempt, index) =>
      `Attempt ${first + index + 1} failed.\nCode:\n\`\`\`python\n${brief ? clip(attempt.code, BRIEF_CODE_CHARS) : attempt.code}\n\`\`\`\nError:\n${clip(attempt.error, brief ? BRIEF_ERROR_CHARS : MAX_ERROR_CHARS)}`,
  );
  return {
    system: [
      'You write one complete Python 3 program for a data-analysis step.',
      'The data files are in the current working directory, and also read-only at /<name> (for example /sales.csv) unless the name is a system path such as etc or tmp.',
      'Read them either way; write files only in the working directory, by relative path.',
      'pandas, numpy and matplotlib are installed; there is no network.',
      'Save every chart with matplotlib as a PNG file in the working directory (plt.savefig), then plt.close().',
      'Print the findings a person needs, concisely.',
      'To report progress or problems, you may `import ml` and call ml.info(text), ml.warn(text) or ml.error(text).',
      'Answer with the program in a single ```python code block.',
    ].join('\n'),
    user: [
      input.task ? `Task:\n${input.task}` : null,
      `Plan:\n${input.plan.steps.map((step) => `- ${step.id}: ${step.title}`).join('\n')}`,
      `Write the code for step "${input.step.id}": ${input.step.title}\n${input.step.description}`,
      `Data files:\n${describeFiles(input.files, brief)}`,
      attempts.length > 0
        ? `${attempts.join('\n\n')}\n\nFix the problem and answer with the whole program again.`
        : null,
      input.hints && input.hints.length > 0
        ? `A person looked at the failures and says:\n${input.hints.map((hint) => `- ${hint}`).join('\n')}`
        : null,
    ]
      .filter((part): part is string => part !== null)
      .join('\n\n'),
  };
}

export interface AnalysisPromptInput {
  task: string;
  plan: Plan;
  outcome: 'succeeded' | 'failed';
  stdout: string;
  results: string[];
  files: string[];
  error: string | null;
}

export function analysisPrompt(input: AnalysisPromptInput, options: PromptOptions = {}): Prompt {
  const succeeded = input.outcome === 'succeeded';
  const outputChars = options.brief ? BRIEF_OUTPUT_CHARS : MAX_OUTPUT_CHARS;
  const errorChars = options.brief ? BRIEF_ERROR_CHARS : MAX_ERROR_CHARS;
  return {
    system: succeeded
      ? 'You explain the results of a data analysis to the person who asked for it: answer their question directly, with the key numbers, in a few short paragraphs.'
      : 'A data analysis failed after several attempts. Explain to the person, briefly and plainly, what went wrong and what they could change (their data or their request).',
    user: [
      `Task:\n${input.task}`,
      `Plan:\n${input.plan.steps.map((step) => `- ${step.title}`).join('\n')}`,
      `Output of the code:\n${clip(input.stdout, outputChars) || '(none)'}`,
      input.results.length > 0 ? `Values:\n${clip(input.results.join('\n'), outputChars)}` : null,
      input.files.length > 0 ? `Files written: ${input.files.join(', ')}` : null,
      input.error ? `Last error:\n${clip(input.error, errorChars)}` : null,
    ]
      .filter((part): part is string => part !== null)
      .join('\n\n'),
  };
}

/** The Python program in a model's answer: the first fenced block, or the whole answer. */
export function extractCode(answer: string): string {
  const fenced = /```(?:python|py)?[ \t]*\r?\n([\s\S]*?)```/i.exec(answer);
  return (fenced ? fenced[1] : answer).trim();
}

/** The JSON object in a model's answer, tolerating fences and text around it. */
export function extractJson(answer: string): unknown {
  const trimmed = answer.trim();
  try {
    return JSON.parse(trimmed);
  } catch {
    const start = trimmed.indexOf('{');
    const end = trimmed.lastIndexOf('}');
    if (start === -1 || end <= start) throw new SyntaxError('no JSON object in the answer');
    return JSON.parse(trimmed.slice(start, end + 1));
  }
}
