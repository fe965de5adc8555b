/**
 * The `agent-exec` command line, run as a subprocess (bin/agent-exec.mjs, as `npx agent-exec` runs
 * it) against the real gateway, worker and Temporal dev server; the progress bar once in a real
 * terminal, a tmux pane.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SALES_CSV, SALES_PLOT_CODE } from '../support/data';
import { answer } from '../support/fake-model';
import { useHarness } from '../support/harness';
import { testWhen } from '../support/skip';

const BIN = path.join(__dirname, '..', '..', 'bin', 'agent-exec.mjs');
const ADMIN_KEY = 'cli-operator-key';

/** Prints, then runs for a few seconds: long enough to pause it, or to see the bar move. */
const SLOW_CODE = "import time\nfor i in range(6):\n    print('tick', i, flush=True)\n    time.sleep(0.5)";

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('the agent-exec command line', () => {
  const harness = useHarness({ env: { ADMIN_API_KEY: ADMIN_KEY } });
  harness.defaultHeaders = { authorization: `Bearer ${ADMIN_KEY}` };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cli-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const env = (extra: Record<string, string> = {}) => ({
    ...process.env,
    AGENT_EXEC_URL: harness.baseUrl,
    AGENT_EXEC_KEY: ADMIN_KEY,
    ...extra,
  });

  /** Starts the CLI; `done` resolves with its exit code and output. */
  const start = (args: string[], extraEnv: Record<string, string> = {}) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: env(extraEnv), cwd: dir });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const done = new Promise<CliRun>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
    return { child, done, stdout: () => stdout };
  };
  const cli = (...args: string[]) => start(args).done;

  /** A local file for the CLI to read. */
  const file = (name: string, content: string) => {
    const target = path.join(dir, name);
    writeFileSync(target, content);
    return target;
  };

  /** The failure line: exactly one line on stderr, no stack trace, nothing on stdout. */
  const expectOneLineError = (run: CliRun, code: number, contains: string) => {
    expect({ code: run.code, stdout: run.stdout }).toEqual({ code, stdout: '' });
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^agent-exec: /);
    expect(lines[0]).toContain(contains);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  };

  const startCode = async (code: string, options: Record<string, unknown> = {}) => {
    const response = await harness.request('POST', '/api/executions', { code, options });
    expect(response.status).toBe(202);
    return response.body.id as string;
  };

  test('run -f sales.csv --follow shows progress and the output, prints the answer, saves the plot, exits 0', async () => {
    harness.fake.script(
      answer.plan(),
      answer.code(SALES_PLOT_CODE),
      answer.analysis('North grew fastest: revenue rose 110% from January to March.'),
    );
    const out = path.join(dir, 'answer');
    const run = await cli(
      'run',
      'Which region had the highest revenue growth? Plot revenue by month.',
      '-f',
      file('sales.csv', SALES_CSV),
      '--follow',
      '--out',
      out,
    );

    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    // Not a terminal: plain progress lines instead of a bar.
    expect(run.stdout).toMatch(/^running {2}[a-z]+ {2}step 1\/1 main {2}\d+% {2}\S+ left$/m);
    expect(run.stdout).toContain('fastest growth: North 110%');
    expect(run.stdout).toContain('North grew fastest: revenue rose 110% from January to March.');
    expect(run.stdout).toMatch(/^exec-\S+ succeeded$/m);
    expect(run.stdout).toContain(`saved ${path.join(out, 'revenue.png')}`);
    expect(readFileSync(path.join(out, 'revenue.png')).subarray(0, 8)).toEqual(PNG_MAGIC);
    const id = /^(exec-\S+) succeeded$/m.exec(run.stdout)![1];
    const snapshot = await harness.waitForEnd(id);
    expect(snapshot).toMatchObject({ status: 'succeeded', triggeredBy: 'user' });
    expect(snapshot.inputs.map((input) => input.name)).toEqual(['sales.csv']);
  });

  test('status, logs, list and files of an ended execution; --get never overwrites a file', async () => {
    const id = await startCode("open('out.csv', 'w').write('a,b\\n1,2\\n')\nprint('wrote it')");
    await harness.waitForEnd(id);

    const status = await cli('status', id);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`${id}  succeeded`);
    expect(status.stdout).toContain('files     out.csv');

    const logs = await cli('logs', id);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toMatch(/EXECUTION_STARTED/);
    expect(logs.stdout.trimEnd().split('\n').at(-1)).toMatch(/EXECUTION_COMPLETED/);
    // Following an ended execution prints its whole log and exits with its end state at once.
    const followed = await cli('logs', id, '-f');
    expect(followed.code).toBe(0);
    expect(followed.stdout).toContain('wrote it');
    expect(followed.stdout.trimEnd().split('\n').at(-1)).toBe(`${id} ended succeeded`);

    const listed = await harness
      .waitFor(id, () => true)
      .then(async () => {
        // Visibility may take a moment to list a just-ended execution.
        for (let i = 0; i < 50; i++) {
          const list = await cli('list', '--status', 'succeeded', '--limit', '100');
          if (list.stdout.includes(id)) return list;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        throw new Error('the execution was never listed');
      });
    expect(listed.code).toBe(0);
    expect(listed.stdout.split('\n')[0]).toMatch(/^ID\s+STATUS\s+KIND\s+TRIGGER\s+CREATED\s+TASK$/);

    const files = await cli('files', id);
    expect(files.code).toBe(0);
    expect(files.stdout).toMatch(/^out\.csv\s+8 B\s+main#1 \(result\)/m);

    const where = path.join(dir, 'files');
    const first = await cli('files', id, '--get', 'out.csv', '--out', where);
    const second = await cli('files', id, '--get', 'out.csv', '--out', where);
    expect([first.code, second.code]).toEqual([0, 0]);
    expect(second.stdout).toContain(`saved ${path.join(where, 'out-1.csv')} (8 B)`);
    expect(readdirSync(where).sort()).toEqual(['out-1.csv', 'out.csv']);
    expect(readFileSync(path.join(where, 'out.csv'), 'utf8')).toBe('a,b\n1,2\n');

    expectOneLineError(await cli('files', id, '--get', 'nope.csv'), 4, `No file "nope.csv" in ${id}`);
  });

  test('a failing run exits with the failed code and its error on one line; retry --code then succeeds', async () => {
    const run = await cli(
      'run',
      '--code',
      file('fail.py', "raise ValueError('the revenue column holds text')"),
      '--follow',
    );
    expect(run.code).toBe(10);
    expect(run.stdout).toMatch(/^exec-\S+ failed$/m);
    expect(run.stdout).toContain('CODE_ERROR');
    expect(run.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^agent-exec: exec-\S+ ended failed \(CODE_ERROR at step main\)$/),
    ]);

    const id = /^(exec-\S+) failed$/m.exec(run.stdout)![1];
    const retried = await cli(
      'retry',
      id,
      '--from',
      'main',
      '--code',
      file('fixed.py', "print('fixed by hand')"),
      '--follow',
    );
    expect(retried.code).toBe(0);
    expect(retried.stdout).toContain(`(a retry of ${id})`);
    expect(retried.stdout).toContain('fixed by hand');
  });

  test('--json: the gateway JSON as one object; with --follow, one event a line', async () => {
    const out = path.join(dir, 'json');
    const run = await cli(
      '--json',
      'run',
      '--code',
      file('plot.py', "import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.savefig('line.png')\nprint('drawn')"),
      '--follow',
      '--out',
      out,
    );
    expect(run.code).toBe(0);
    const events = run.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(events[0]).toMatchObject({
      event: 'started',
      data: { id: expect.stringMatching(/^exec-/), status: 'queued' },
    });
    const id = events[0].data.id as string;
    expect(events.filter((event) => event.event === 'update').length).toBeGreaterThan(0);
    expect(events.at(-2)).toMatchObject({ event: 'end', data: { id, status: 'succeeded' } });
    expect(events.at(-1)).toMatchObject({
      event: 'saved',
      data: { files: [{ name: 'line.png', path: path.join(out, 'line.png') }] },
    });
    expect(existsSync(path.join(out, 'line.png'))).toBe(true);

    const status = await cli('status', id, '--json');
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ id, status: 'succeeded', kind: 'code' });
    const files = await cli('--json', 'files', id);
    expect(JSON.parse(files.stdout).files).toEqual([expect.objectContaining({ name: 'line.png', result: true })]);
    const missing = await cli('--json', 'status', 'exec-unknown');
    expect(missing.code).toBe(4);
    expect(missing.stdout).toBe('');
  });

  test('pause, resume and cancel; a followed run that is cancelled exits with the cancelled code', async () => {
    // Ten seconds of work: pausing lets the running step go on, so it must still run when cancelled.
    const longer = "import time\nfor i in range(20):\n    print('tick', i, flush=True)\n    time.sleep(0.5)";
    const followed = start(['--json', 'run', '--code', file('slow.py', longer), '--follow']);
    let id = '';
    for (let i = 0; i < 100 && id === ''; i++) {
      const first = followed.stdout().split('\n')[0];
      if (first.endsWith('}')) id = JSON.parse(first).data.id;
      else await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(id).toMatch(/^exec-/);
    await harness.waitFor(id, (snapshot) => snapshot.progress.currentPhase === 'executing');

    const paused = await cli('pause', id, '--reason', 'lunch');
    expect(paused).toMatchObject({ code: 0, stdout: `${id} paused\n` });
    expectOneLineError(await cli('pause', id), 5, 'INVALID_STATE_TRANSITION');
    expect(await cli('resume', id)).toMatchObject({ code: 0, stdout: `${id} running\n` });
    expect(await cli('cancel', id, '--reason', 'not needed')).toMatchObject({
      code: 0,
      stdout: `${id} cancellation requested\n`,
    });

    const done = await followed.done;
    expect(done.code).toBe(11);
    const end = done.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line))
      .find((event) => event.event === 'end');
    expect(end.data).toMatchObject({ id, status: 'cancelled' });
    const snapshot = await harness.waitForEnd(id);
    expect(snapshot.timeline.find((event) => event.event === 'EXECUTION_PAUSED')?.description).toBe('lunch');
  });

  test('a run past its deadline exits with the timed-out code', async () => {
    const run = await cli(
      'run',
      '--code',
      file('sleep.py', 'import time\ntime.sleep(60)'),
      '--timeout',
      '2s',
      '--follow',
    );
    expect(run.code).toBe(12);
    expect(run.stderr).toMatch(/^agent-exec: exec-\S+ ended timed_out \(TIMED_OUT/);
  });

  test('answer --approve runs a plan that waits for approval', async () => {
    harness.fake.script(answer.plan(), answer.code("print('approved work')"), answer.analysis('Done.'));
    const started = await cli('--json', 'run', 'Do approved work.', '--require-approval');
    expect(started.code).toBe(0);
    const id = JSON.parse(started.stdout).id as string;
    await harness.waitFor(id, (snapshot) => snapshot.status === 'awaiting_input');

    const status = await cli('status', id);
    expect(status.stdout).toContain('waiting   approval:');
    expect(status.stdout).toContain(`answer    agent-exec answer ${id} --approve`);
    expectOneLineError(await cli('answer', id, '--text', 'looks fine'), 2, 'plan approval');
    expectOneLineError(await cli('answer', id), 2, 'say --approve');

    expect(await cli('answer', id, '--approve')).toMatchObject({ code: 0, stdout: `${id} answer accepted\n` });
    const done = await harness.waitForEnd(id);
    expect(done.status).toBe('succeeded');
    expect(done.steps[0].attempts[0].stdout).toContain('approved work');
    expectOneLineError(await cli('answer', id, '--approve'), 5, 'INVALID_STATE_TRANSITION');
  });

  test('named tasks: create, show, run with typed inputs; schedules: create, list, pause, resume, delete', async () => {
    const created = await cli(
      'tasks',
      'create',
      'greet',
      '--title',
      'Greet',
      '--description',
      'Greet {{name}} {{times}} times.',
      '--parameters',
      JSON.stringify({
        properties: { name: { type: 'string' }, times: { type: 'integer', default: 1 } },
        required: ['name'],
      }),
      '--code',
      file('greet.py', "print('hello from the task')"),
    );
    expect(created).toMatchObject({ code: 0, stdout: 'created task greet v1\n' });
    expectOneLineError(await cli('tasks', 'create', 'greet', '--title', 'x', '--description', 'y'), 5, 'TASK_EXISTS');
    const listed = await cli('tasks', 'list');
    expect(listed.stdout).toMatch(/^greet\s+v1\s+name,times\s+Greet$/m);
    const shown = await cli('tasks', 'show', 'greet');
    expect(shown.stdout).toContain('--input name=<string> (required)');
    expect(shown.stdout).toContain('--input times=<integer> = 1');

    // `times=2` is sent as the integer the parameter declares, not as text. A task's text with code:
    // the code runs as given, and the model writes the analysis.
    harness.fake.script(answer.analysis('Ada was greeted twice.'));
    const run = await cli('run', '--task', 'greet', '--input', 'name=Ada', '--input', 'times=2', '--follow');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('hello from the task');
    const id = /^(exec-\S+) succeeded$/m.exec(run.stdout)![1];
    const snapshot = await harness.waitForEnd(id);
    expect(snapshot.task).toBe('Greet Ada 2 times.');
    expect(snapshot.namedTask).toEqual({ slug: 'greet', version: 1 });
    expectOneLineError(
      await cli('tasks', 'run', 'greet', '--input', 'name=Ada', '--input', 'bogus=1'),
      6,
      'inputs.bogus is not a parameter of this task',
    );

    const schedule = await cli('--json', 'schedules', 'create', 'greet', '--every', '1h', '--input', 'name=Ada');
    expect(schedule.code).toBe(0);
    const scheduleId = JSON.parse(schedule.stdout).id as string;
    expect(JSON.parse(schedule.stdout)).toMatchObject({ inputs: { name: 'Ada' }, paused: false });
    expect((await cli('schedules', 'list', 'greet')).stdout).toMatch(
      new RegExp(`^${scheduleId}\\s+every 1h\\s+active`, 'm'),
    );
    expect((await cli('schedules', 'pause', 'greet', scheduleId)).stdout).toMatch(/^paused schedule /);
    expect((await cli('schedules', 'list', 'greet')).stdout).toMatch(
      new RegExp(`^${scheduleId}\\s+every 1h\\s+paused`, 'm'),
    );
    expect((await cli('schedules', 'resume', 'greet', scheduleId)).stdout).toMatch(/^resumed schedule /);
    expect(await cli('schedules', 'delete', 'greet', scheduleId)).toMatchObject({
      code: 0,
      stdout: `deleted schedule ${scheduleId}\n`,
    });
    expectOneLineError(await cli('schedules', 'pause', 'greet', scheduleId), 4, 'NOT_FOUND');
    expect(await cli('tasks', 'delete', 'greet')).toMatchObject({ code: 0, stdout: 'deleted task greet\n' });
  });

  test('failures are one line with their documented code: usage, auth, scope, not found, unreachable', async () => {
    expectOneLineError(await cli('run', 'x', '--bogus'), 2, "unknown option '--bogus'");
    expectOneLineError(await cli('status'), 2, "missing required argument 'id'");
    expectOneLineError(await cli('run', '-f', path.join(dir, 'missing.csv'), 'x'), 2, 'missing.csv: no such file');
    expectOneLineError(await cli('run', 'x', '--input', 'a=1'), 2, 'add --task <slug>');

    const id = await startCode("print('x')");
    expectOneLineError(await start(['status', id], { AGENT_EXEC_KEY: 'not-a-key' }).done, 3, '(401 UNAUTHORIZED)');
    const readOnly = await harness.request('POST', '/api/keys', {
      tenant: 'default',
      name: 'viewer',
      scopes: ['read'],
    });
    expect(readOnly.status).toBe(201);
    const viewer = { AGENT_EXEC_KEY: readOnly.body.secret as string };
    expect((await start(['status', id], viewer).done).code).toBe(0);
    expectOneLineError(await start(['cancel', id], viewer).done, 3, '403 FORBIDDEN');

    expectOneLineError(await cli('status', 'exec-unknown'), 4, '(404 NOT_FOUND)');

    const closedPort = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const url = `http://127.0.0.1:${closedPort}`;
    expectOneLineError(await cli('--url', url, 'list'), 7, `Cannot reach the gateway at ${url}: connection refused`);
    expectOneLineError(await start(['list'], { AGENT_EXEC_URL: url }).done, 7, 'ECONNREFUSED');
    await harness.waitForEnd(id);
  });

  const tmux = spawnSync('tmux', ['-V'], { encoding: 'utf8' });
  testWhen(tmux.status === 0, 'tmux is not installed (scripts/setup.sh installs it)')(
    'in a terminal (a tmux pane), --follow draws a live progress bar',
    async () => {
      const socket = `agent-exec-test-${process.pid}`;
      const exitFile = path.join(dir, 'tmux-exit');
      const quote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;
      const command = [
        quote(process.execPath),
        quote(BIN),
        'run --code',
        quote(file('tmux.py', SLOW_CODE)),
        '--follow --out',
        quote(path.join(dir, 'tmux-out')),
        `; echo $? > ${quote(exitFile)}; sleep 60`,
      ].join(' ');
      const tmuxCall = (...args: string[]) => spawnSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
      const session = tmuxCall(
        'new-session',
        '-d',
        '-s',
        'cli',
        '-x',
        '150',
        '-y',
        '30',
        '-e',
        `AGENT_EXEC_URL=${harness.baseUrl}`,
        '-e',
        `AGENT_EXEC_KEY=${ADMIN_KEY}`,
        command,
      );
      expect(session.stderr).toBe('');
      const screens: string[] = [];
      try {
        const deadline = Date.now() + 60_000;
        while (!existsSync(exitFile) && Date.now() < deadline) {
          screens.push(tmuxCall('capture-pane', '-p', '-t', 'cli').stdout);
          await new Promise((resolve) => setTimeout(resolve, 150));
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
        const last = tmuxCall('capture-pane', '-p', '-t', 'cli').stdout;
        expect(readFileSync(exitFile, 'utf8').trim()).toBe('0');

        const bar = /(queued|starting|running|succeeded) \S+ \|[█░]{30}\| +(\d+)% \| /;
        // Drawn while it ran, in place: a screen showed the bar short of 100 %, with the phase.
        const live = screens.map((screen) => bar.exec(screen)).filter((match) => match !== null);
        expect(live.some((match) => Number(match![2]) < 100)).toBe(true);
        // The sandbox output streams above the bar, which stays drawn below it: in (nearly) every
        // screen from the first line of output to the end, the last line is the bar.
        const lastLine = (screen: string) =>
          screen
            .split('\n')
            .filter((line) => line.trim() !== '')
            .at(-1) ?? '';
        const printing = screens.filter((screen) => screen.includes('tick 0') && !screen.includes('succeeded'));
        expect(printing.length).toBeGreaterThan(3);
        const barBelow = printing.filter((screen) =>
          /^running executing \|[█░]{30}\| +\d+% \| step 1\/1 main \| /.test(lastLine(screen)),
        );
        expect(barBelow.length / printing.length).toBeGreaterThan(0.8);
        // The last state stays on the screen, once, with the output above it and the answer below.
        expect(last).toMatch(/succeeded done \|█{30}\| 100% \| step 1\/1/);
        expect(last.match(/\|[█░]{30}\|/g)).toHaveLength(1);
        expect(last).toContain('tick 5');
        expect(last).toMatch(/^exec-\S+ succeeded$/m);
      } catch (error) {
        // What the pane showed, to see why.
        console.log(screens.join('\n-----\n'));
        throw error;
      } finally {
        tmuxCall('kill-server');
      }
    },
  );
});
