import { analysisPrompt, codePrompt, extractCode, extractJson, planPrompt } from '../../src/llm/prompts';

const PLAN = {
  steps: [
    { id: 'load', title: 'Load', description: 'Read the CSV', dependsOn: [] },
    { id: 'chart', title: 'Chart', description: 'Plot revenue', dependsOn: ['load'] },
  ],
};

/** The branches src/llm/prompts.test.ts leaves: file previews, optional parts, and answer extraction. */
describe('prompts', () => {
  test('the plan prompt lists the files with their first lines, or says there are none', () => {
    const withFiles = planPrompt('Total it.', [
      { name: 'sales.csv', size: 20, preview: 'region,amount\nnorth,10' },
      { name: 'logo.png', size: 300, preview: '' },
    ]);
    expect(withFiles.system.startsWith('You plan')).toBe(true);
    expect(withFiles.user).toContain('Task:\nTotal it.');
    expect(withFiles.user).toContain(
      'File "sales.csv" (20 bytes, in the working directory and at /sales.csv), first lines:\nregion,amount\nnorth,10',
    );
    expect(withFiles.user).toContain(
      'File "logo.png" (300 bytes, in the working directory and at /logo.png), first lines:\n(binary or empty)',
    );
    expect(planPrompt('Total it.', []).user).toContain('No data files were given.');
  });

  test('the code prompt leaves out what it does not have: task, attempts, hints', () => {
    const bare = codePrompt({ task: null, plan: PLAN, step: PLAN.steps[1], files: [], previousAttempts: [] });
    expect(bare.system.startsWith('You write')).toBe(true);
    expect(bare.user).not.toContain('Task:');
    expect(bare.user).toContain('Plan:\n- load: Load\n- chart: Chart');
    expect(bare.user).toContain('Write the code for step "chart": Chart\nPlot revenue');
    expect(bare.user).not.toContain('failed');
    expect(bare.user).not.toContain('A person looked');
    expect(
      codePrompt({ task: null, plan: PLAN, step: PLAN.steps[1], files: [], previousAttempts: [], hints: [] }).user,
    ).toBe(bare.user);
  });

  test('the code prompt shows each failed attempt with its error cut short, and the hints', () => {
    const prompt = codePrompt({
      task: 'Chart revenue.',
      plan: PLAN,
      step: PLAN.steps[1],
      files: [],
      previousAttempts: [
        { code: 'plot()', error: 'NameError: plot' },
        { code: 'plt.plot()', error: 'E'.repeat(5000) },
      ],
      hints: ['use matplotlib', 'the column is amount'],
    });
    expect(prompt.user).toContain('Task:\nChart revenue.');
    expect(prompt.user).toContain('Attempt 1 failed.\nCode:\n```python\nplot()\n```\nError:\nNameError: plot');
    expect(prompt.user).toContain('Attempt 2 failed.');
    expect(prompt.user).toContain(`${'E'.repeat(4000)}\n… [cut: 1000 more characters]`);
    expect(prompt.user).toContain('Fix the problem and answer with the whole program again.');
    expect(prompt.user).toContain(
      'A person looked at the failures and says:\n- use matplotlib\n- the column is amount',
    );
  });

  test('the analysis prompt differs for success and failure and leaves out empty parts', () => {
    const base = { task: 'Total it.', plan: PLAN, stdout: '', results: [], files: [], error: null };
    const succeeded = analysisPrompt({ ...base, outcome: 'succeeded' });
    expect(succeeded.system).toContain('explain the results');
    expect(succeeded.user).toContain('Output of the code:\n(none)');
    expect(succeeded.user).not.toContain('Values:');
    expect(succeeded.user).not.toContain('Files written');
    expect(succeeded.user).not.toContain('Last error');

    const failed = analysisPrompt({
      ...base,
      outcome: 'failed',
      stdout: 'partial',
      results: ['42', '43'],
      files: ['a.csv', 'b.png'],
      error: 'KeyError: amount',
    });
    expect(failed.system).toContain('failed after several attempts');
    expect(failed.user).toContain('Plan:\n- Load\n- Chart');
    expect(failed.user).toContain('Output of the code:\npartial');
    expect(failed.user).toContain('Values:\n42\n43');
    expect(failed.user).toContain('Files written: a.csv, b.png');
    expect(failed.user).toContain('Last error:\nKeyError: amount');
  });

  test('code is the first fenced block (python, py or bare), else the whole answer', () => {
    expect(extractCode('Here:\n```python\nprint(1)\n```\nand ```python\nprint(2)\n```')).toBe('print(1)');
    expect(extractCode('```py\nx = 1\n```')).toBe('x = 1');
    expect(extractCode('```\r\ny = 2\r\n```')).toBe('y = 2');
    expect(extractCode('  print(3)  ')).toBe('print(3)');
  });

  test('JSON is the whole answer, or the outermost braces in it; none is a SyntaxError', () => {
    expect(extractJson(' {"steps": []} ')).toEqual({ steps: [] });
    expect(extractJson('Sure:\n```json\n{"steps": [{"id": "a"}]}\n```')).toEqual({ steps: [{ id: 'a' }] });
    expect(() => extractJson('no json here')).toThrow('no JSON object in the answer');
    expect(() => extractJson('} backwards {')).toThrow('no JSON object in the answer');
    expect(() => extractJson('{ not: json }')).toThrow(SyntaxError);
  });
});
