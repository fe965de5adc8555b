import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

/**
 * Checks generated code before it runs, so the model gets a precise complaint instead of a
 * sandbox failure. The sandbox stays the real barrier: this only catches honest mistakes early.
 * The code is parsed (never run) by a short Python program; the code itself travels on stdin.
 */
const VALIDATOR = String.raw`
import ast, json, re, sys
FORBIDDEN = {'socket', 'subprocess', 'ctypes', 'requests', 'urllib3', 'urllib.request', 'http.client',
             'ftplib', 'smtplib', 'telnetlib', 'paramiko', 'pty', 'multiprocessing.connection'}
SYSTEM_PATH = re.compile(r'^/(etc|usr|home|root|proc|sys|dev|var|opt|bin|sbin|lib|lib64|mnt|srv|run|boot|media|workspace/\.\.)(/|$)')
def check(source):
    problems = []
    try:
        tree = ast.parse(source, '<code>')
    except SyntaxError as error:
        return [f'SyntaxError: {error.msg} (line {error.lineno})']
    except (ValueError, RecursionError, MemoryError) as error:
        return [f'{type(error).__name__}: {error}']
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f'{node.module}.{alias.name}' for alias in node.names]
        for name in names:
            if name in FORBIDDEN or name.split('.')[0] in FORBIDDEN:
                problems.append(f'line {node.lineno}: importing {name} is not allowed (no network or processes in the sandbox)')
                break
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            value = node.value
            if SYSTEM_PATH.match(value) or value == '..' or value.startswith('../') or '/../' in value:
                problems.append(f'line {node.lineno}: the path {value!r} is outside the working directory; use a relative path')
    return problems[:20]

# One request per line: {"code": "..."}; one answer per line: a JSON list of problems.
for line in sys.stdin:
    try:
        answer = check(json.loads(line)['code'])
    except Exception as error:
        answer = [f'the code could not be checked: {type(error).__name__}']
    sys.stdout.write(json.dumps(answer) + '\n')
    sys.stdout.flush()
`;

export interface ValidationReport {
  ok: boolean;
  problems: string[];
}

interface Pending {
  resolve: (problems: string[]) => void;
  reject: (error: Error) => void;
}

/**
 * A long-lived Python process that parses code on request: starting Python for every check would
 * cost more than the check. Requests are answered in order; a crashed or stuck process is replaced.
 */
export class CodeValidator {
  private child: ChildProcessWithoutNullStreams | null = null;
  private readonly pending: Pending[] = [];
  private buffer = '';

  constructor(
    private readonly pythonPath: string,
    private readonly timeoutMs = 10_000,
  ) {}

  /** Lists what would stop `code` from running in the sandbox. */
  async validate(code: string): Promise<ValidationReport> {
    if (code.trim() === '') return { ok: false, problems: ['the code is empty'] };
    const child = this.process();
    const problems = await new Promise<string[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error('the code validator did not answer in time'));
        this.restart();
      }, this.timeoutMs);
      this.pending.push({
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      child.stdin.write(`${JSON.stringify({ code })}\n`);
    });
    return { ok: problems.length === 0, problems };
  }

  /** Starts the Python process now, so that the first check does not wait for it. */
  warmUp(): void {
    this.process();
  }

  close(): void {
    this.restart();
  }

  private process(): ChildProcessWithoutNullStreams {
    if (this.child) return this.child;
    const child = spawn(this.pythonPath, ['-I', '-c', VALIDATOR], { stdio: ['pipe', 'pipe', 'pipe'], env: {} });
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      this.buffer += chunk;
      let newline: number;
      while ((newline = this.buffer.indexOf('\n')) !== -1) {
        const line = this.buffer.slice(0, newline);
        this.buffer = this.buffer.slice(newline + 1);
        this.pending.shift()?.resolve(JSON.parse(line) as string[]);
      }
    });
    child.stderr.resume();
    child.stdin.on('error', () => undefined);
    const fail = (error: Error) => {
      if (this.child === child) this.child = null;
      this.buffer = '';
      for (const waiting of this.pending.splice(0)) waiting.reject(error);
    };
    child.on('error', fail);
    child.on('exit', (code, signal) => fail(new Error(`the code validator exited (${signal ?? code})`)));
    child.unref();
    this.child = child;
    return child;
  }

  private restart(): void {
    const child = this.child;
    this.child = null;
    child?.kill('SIGKILL');
  }
}
