import { codePrompt, extractCode, extractJson, planPrompt } from './prompts';

describe('reading model answers', () => {
  test('takes the first python block', () => {
    expect(extractCode('Sure:\n```python\nprint(1)\n```\nand\n```python\nprint(2)\n```')).toBe('print(1)');
    expect(extractCode('```\nx = 1\n```')).toBe('x = 1');
    expect(extractCode('print(3)')).toBe('print(3)');
  });

  test('finds the JSON object in chatty answers', () => {
    expect(extractJson('{"steps": []}')).toEqual({ steps: [] });
    expect(extractJson('Here you go:\n```json\n{"a": {"b": 1}}\n```')).toEqual({ a: { b: 1 } });
    expect(() => extractJson('no json here')).toThrow(SyntaxError);
  });

  test('the code prompt carries earlier attempts and their errors', () => {
    const prompt = codePrompt({
      task: 'Sum it',
      plan: { steps: [{ id: 'main', title: 'Sum', description: '', dependsOn: [] }] },
      step: { id: 'main', title: 'Sum', description: '', dependsOn: [] },
      files: [{ name: 'a.csv', size: 4, preview: 'n\n1' }],
      previousAttempts: [{ code: 'print(x)', error: "NameError: name 'x' is not defined" }],
      hints: ['x is called total'],
    });
    expect(prompt.user).toContain('- x is called total');
    expect(prompt.user).toContain('print(x)');
    expect(prompt.user).toContain("NameError: name 'x' is not defined");
    expect(prompt.user).toContain('File "a.csv" (4 bytes, in the working directory and at /a.csv)');
  });

  test('the prompts say the files are in the working directory and at /<name>, except system names', () => {
    const files = [
      { name: 'sales.csv', size: 4, preview: 'n\n1' },
      { name: 'etc', size: 2, preview: 'x' },
    ];
    const code = codePrompt({
      task: 'Sum it',
      plan: { steps: [{ id: 'main', title: 'Sum', description: '', dependsOn: [] }] },
      step: { id: 'main', title: 'Sum', description: '', dependsOn: [] },
      files,
      previousAttempts: [],
    });
    expect(code.system).toContain(
      'in the current working directory, and also read-only at /<name> (for example /sales.csv)',
    );
    expect(code.system).toContain('write files only in the working directory');
    expect(code.user).toContain('File "sales.csv" (4 bytes, in the working directory and at /sales.csv)');
    expect(code.user).toContain('File "etc" (2 bytes, in the working directory only: its name is a system path)');

    const plan = planPrompt('Sum it', files, { brief: true });
    expect(plan.user).toContain('Data files (in the working directory, and read-only at /<name>):');
    expect(plan.user).toContain('at /sales.csv');
  });
});
