import { codePrompt, extractCode, extractJson } from './prompts';

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
    expect(prompt.user).toContain('File "a.csv" (4 bytes)');
  });
});
