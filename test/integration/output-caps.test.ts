import { CLIP_MARKER } from '../../src/domain/clip';
import { useHarness } from '../support/harness';

/** What a run's output looks like in the execution's record: cut to fit in workflow history, with a marker. */
describe('output kept in history', () => {
  const harness = useHarness({ model: false });

  test('stdout is cut at 8 KB and stderr at 4 KB, each with a marker saying how much was cut', async () => {
    const started = await harness.request('POST', '/api/executions', {
      code: "import sys\nprint('a' * 20000)\nsys.stderr.write('e' * 10000)",
    });
    const done = await harness.waitForEnd(started.body.id);
    expect(done.status).toBe('succeeded');
    const attempt = done.steps[0].attempts[0];
    // print adds a newline: 20,001 characters, of which 8,192 are kept.
    expect(attempt.stdout).toBe(`${'a'.repeat(8192)}\n${CLIP_MARKER} ${20001 - 8192} more characters]`);
    expect(attempt.stderr).toBe(`${'e'.repeat(4096)}\n${CLIP_MARKER} ${10000 - 4096} more characters]`);
  });

  test('output under the caps is kept whole', async () => {
    const started = await harness.request('POST', '/api/executions', {
      code: "import sys\nprint('a' * 8191)\nsys.stderr.write('e' * 4096)",
    });
    const attempt = (await harness.waitForEnd(started.body.id)).steps[0].attempts[0];
    expect(attempt.stdout).toBe(`${'a'.repeat(8191)}\n`);
    expect(attempt.stderr).toBe('e'.repeat(4096));
  });

  test('a large JSON value is replaced by a note, a small one kept, and a long text result cut', async () => {
    const started = await harness.request('POST', '/api/executions', {
      code: ['import ml', "ml.json({'values': list(range(5000))})", "ml.json({'rows': 3})", "'x' * 20000"].join('\n'),
    });
    const done = await harness.waitForEnd(started.body.id);
    expect(done.status).toBe('succeeded');
    const [large, small, main] = done.steps[0].attempts[0].results;
    const size = JSON.stringify({ values: Array.from({ length: 5000 }, (_, i) => i) }).length;
    expect(large.json).toEqual({ note: `a JSON value of ${size} characters was left out` });
    expect(small.json).toEqual({ rows: 3 });
    expect(main.isMainResult).toBe(true);
    // The repr of the string: 20,002 characters with its quotes.
    expect(main.text).toBe(`'${'x'.repeat(8191)}\n${CLIP_MARKER} ${20002 - 8192} more characters]`);
  });
});
