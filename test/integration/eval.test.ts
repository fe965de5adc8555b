import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Report } from '../../eval/dabench';
import { FakeModel, type RecordedRequest, type Reply } from '../support/fake-model';

const ROOT = path.resolve(__dirname, '../..');

/** Code that really computes each answer in the sandbox, printing it in the asked form. */
const CODE: Array<[RegExp, string]> = [
  [
    /total revenue over all months/,
    'import pandas as pd\ndf = pd.read_csv(\'sales.csv\')\nprint(f"@total_revenue[{df.revenue.sum()}]")',
  ],
  [
    /highest revenue in March 2024/,
    "import pandas as pd\ndf = pd.read_csv('sales.csv')\nrow = df[df.month == '2024-03'].sort_values('revenue').iloc[-1]\nprint(f'@region[{row.region}] @revenue[{row.revenue}]')",
  ],
  [
    /mean reading of the sensors/,
    "import pandas as pd\ndf = pd.read_csv('sensors.csv')\nok = df[df.status == 'ok'].reading.dropna()\nprint(f'@mean_reading[{ok.mean():.2f}] @failed_count[{(df.status == \"failed\").sum()}]')",
  ],
  // Rounded to two decimals where four were asked for: this one must score wrong.
  [
    /correlation coefficient/,
    "import pandas as pd\ndf = pd.read_csv('sales.csv')\nprint(f'@correlation[{df.units.corr(df.revenue):.2f}]')",
  ],
];

/** The fake endpoint: a one-step plan, the code above, and an analysis that repeats what the code printed. */
function reply(request: RecordedRequest): Reply {
  if (request.purpose === 'plan') {
    return {
      purpose: 'plan',
      content: JSON.stringify({ steps: [{ id: 'main', title: 'Answer', description: '', dependsOn: [] }] }),
    };
  }
  if (request.purpose === 'code') {
    const code = CODE.find(([question]) => question.test(request.user))?.[1];
    return { purpose: 'code', content: `\`\`\`python\n${code ?? "print('no code for this question')"}\n\`\`\`` };
  }
  const printed = /Output of the code:\n([\s\S]*?)\n\n/.exec(`${request.user}\n\n`)?.[1] ?? '';
  return { purpose: 'analysis', content: `The code found: ${printed.trim()}` };
}

/**
 * `npm run eval` end to end on the shipped question set: the real gateway, workflow and sandbox, the
 * scripted model; the report must score what the sandbox computed.
 */
test('the eval runs the shipped questions through the service and scores them', async () => {
  const fake = new FakeModel().answerEverything(reply);
  const out = mkdtempSync(path.join(tmpdir(), 'eval-report-'));
  try {
    await fake.start();
    const report = path.join(out, 'report.json');
    const args = ['--import', 'tsx', 'eval/run.ts', '--dataset', 'eval/dataset', '--out', report];
    const child = spawn(process.execPath, [...args, '--temporal', String(process.env.TEST_TEMPORAL_ADDRESS)], {
      cwd: ROOT,
      env: { ...process.env, OPENAI_BASE_URL: fake.url, OPENAI_API_KEY: 'test-key', LLM_MODEL: 'fake-model' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect({ code, output }).toMatchObject({ code: 0 });

    const written = JSON.parse(readFileSync(report, 'utf8')) as Report;
    expect(written.summary).toMatchObject({
      questions: 4,
      correct: 3,
      accuracy: 0.75,
      byLevel: {
        easy: { correct: 1, questions: 1 },
        medium: { correct: 2, questions: 2 },
        hard: { correct: 0, questions: 1 },
      },
      labelAccuracy: 5 / 6,
    });
    const wrong = written.results.find((result) => result.id === 4);
    expect(wrong?.labels).toEqual([{ name: 'correlation', expected: '0.8441', answered: '0.84', correct: false }]);
    expect(written.results.every((result) => result.status === 'succeeded' && result.tokens.prompt > 0)).toBe(true);
    expect(output).toContain('eval/dataset'.split('/')[1]);
    expect(output).toMatch(/3\/4 questions right, accuracy 75\.0%/);
    expect(fake.problems).toEqual([]);
  } finally {
    await fake.stop();
    rmSync(out, { recursive: true, force: true });
  }
}, 180_000);
