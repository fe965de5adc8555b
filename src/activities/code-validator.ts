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
MODULE_SETS = {}
# Provided by the sandbox's runner itself, whatever is installed.
ALWAYS = {'ml'}
def check(source, modules=None):
    problems = []
    installed = MODULE_SETS.get(modules)
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
        tops = []
        if isinstance(node, ast.Import):
            tops = [alias.name.split('.')[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            tops = [node.module.split('.')[0]]
        for top in tops:
            if installed is not None and top not in installed['all'] and top not in ALWAYS and top not in FORBIDDEN:
                problems.append(f"line {node.lineno}: there is no module {top} in the sandbox's Python; "
                                f"besides the standard library it has {', '.join(installed['thirdParty'])}")
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            value = node.value
            if SYSTEM_PATH.match(value) or value == '..' or value.startswith('../') or '/../' in value:
                problems.append(f'line {node.lineno}: the path {value!r} is outside the working directory; use a relative path')
    return problems[:20]

# One request per line: {"code": "...", "modules": name-or-null}, or {"define": name, "all": [...],
# "thirdParty": [...]} to name a set of installed modules; one answer per line: a JSON list of problems.
for line in sys.stdin:
    try:
        request = json.loads(line)
        if 'define' in request:
            MODULE_SETS[request['define']] = {'all': set(request['all']), 'thirdParty': request['thirdParty']}
            answer = []
        else:
            answer = check(request['code'], request.get('modules'))
    except Exception as error:
        answer = [f'the code could not be checked: {type(error).__name__}']
    sys.stdout.write(json.dumps(answer) + '\n')
    sys.stdout.flush()
`;

export interface ValidationReport {
  ok: boolean;
  problems: string[];
}

/** The modules a sandbox's Python can import: all of them, and those beyond the standard library. */
export interface InstalledModules {
  /** Names the set for the validator (the sandbox backend). */
  name: string;
  all: string[];
  thirdParty: string[];
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
  /** The module sets the running process knows. */
  private readonly defined = new Set<string>();

  constructor(
    private readonly pythonPath: string,
    private readonly timeoutMs = 10_000,
  ) {}

  /**
   * Lists what would stop `code` from running in the sandbox; with `modules`, an import of a module
   * that sandbox does not have is one such thing.
   */
  async validate(code: string, modules?: InstalledModules): Promise<ValidationReport> {
    if (code.trim() === '') return { ok: false, problems: ['the code is empty'] };
    if (modules && !this.defined.has(modules.name)) {
      // Sent once per process: the validator keeps the set by name.
      const process = this.process();
      this.defined.add(modules.name);
      await this.ask(process, { define: modules.name, all: modules.all, thirdParty: modules.thirdParty });
    }
    const problems = await this.ask(this.process(), { code, modules: modules?.name ?? null });
    return { ok: problems.length === 0, problems };
  }

  private ask(child: ChildProcessWithoutNullStreams, request: object): Promise<string[]> {
    return new Promise<string[]>((resolve, reject) => {
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
      child.stdin.write(`${JSON.stringify(request)}\n`);
    });
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
      if (this.child === child) {
        this.child = null;
        this.defined.clear();
      }
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
    this.defined.clear();
    child?.kill('SIGKILL');
  }
}
