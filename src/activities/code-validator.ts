import { spawn } from 'node:child_process';

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
source = sys.stdin.read()
problems = []
try:
    tree = ast.parse(source, '<code>')
except SyntaxError as error:
    print(json.dumps([f'SyntaxError: {error.msg} (line {error.lineno})']))
    raise SystemExit(0)
except (ValueError, RecursionError, MemoryError) as error:
    print(json.dumps([f'{type(error).__name__}: {error}']))
    raise SystemExit(0)
for node in ast.walk(tree):
    names = []
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom) and node.module:
        names = [node.module] + [f'{node.module}.{alias.name}' for alias in node.names]
    for name in names:
        if name in FORBIDDEN or name.split('.')[0] in FORBIDDEN:
            problems.append(f'line {node.lineno}: importing {name} is not allowed (no network or processes in the sandbox)')
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        value = node.value
        if SYSTEM_PATH.match(value) or value == '..' or value.startswith('../') or '/../' in value:
            problems.append(f'line {node.lineno}: the path {value!r} is outside the working directory; use a relative path')
print(json.dumps(problems[:20]))
`;

export interface ValidationReport {
  ok: boolean;
  problems: string[];
}

/** Parses `code` with `pythonPath` and lists what would stop it from running in the sandbox. */
export async function validatePython(code: string, pythonPath: string, timeoutMs = 10_000): Promise<ValidationReport> {
  if (code.trim() === '') return { ok: false, problems: ['the code is empty'] };
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn(pythonPath, ['-I', '-c', VALIDATOR], { stdio: ['pipe', 'pipe', 'pipe'], env: {} });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (exitCode) => {
      clearTimeout(timer);
      if (exitCode === 0) resolve(stdout);
      else reject(new Error(`code validator exited ${exitCode}: ${stderr.slice(-500)}`));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(code);
  });
  const problems = JSON.parse(output) as string[];
  return { ok: problems.length === 0, problems };
}
