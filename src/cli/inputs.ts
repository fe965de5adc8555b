import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { assertNever } from '../domain/assert-never';
import { usageError } from './cli-error';

/** A named task's parameter, as far as the CLI needs it: its type. */
export interface ParameterType {
  type: 'string' | 'number' | 'integer' | 'boolean';
}

export interface RawInput {
  name: string;
  /** The text after `=`, or the JSON value after `:=`. */
  value: string | unknown;
  /** Given as `name:=<json>`: sent as that JSON value, whatever the parameter's type. */
  json: boolean;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Reads one `--input`: `name=text` (the text as the parameter's type wants it) or `name:=<json>`
 * (that JSON value as is).
 * @throws CliError (usage) for anything else.
 */
export function parseInput(text: string): RawInput {
  const match = /^([^=:]+)(:?=)([\s\S]*)$/.exec(text);
  if (!match || !NAME.test(match[1])) {
    throw usageError(`--input "${text}": write name=value (or name:=<json>), the name in letters, digits and "_"`);
  }
  const [, name, operator, value] = match;
  if (operator === '=') return { name, value, json: false };
  try {
    return { name, value: JSON.parse(value) as unknown, json: true };
  } catch {
    throw usageError(`--input "${text}": the value after ":=" is not JSON`);
  }
}

/**
 * The inputs of a run, each text turned into the type its parameter declares (`n=3` is the number 3
 * for an integer, the text "3" for a string). Text that does not read as its type, and names the
 * task does not have, are sent as text: the gateway's check then names every problem at once.
 */
export function coerceInputs(
  inputs: RawInput[],
  parameters: Record<string, ParameterType> | undefined,
): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const input of inputs) {
    if (input.json || typeof input.value !== 'string') {
      values[input.name] = input.value;
      continue;
    }
    values[input.name] = coerce(input.value, parameters?.[input.name]?.type);
  }
  return values;
}

function coerce(text: string, type: ParameterType['type'] | undefined): unknown {
  switch (type) {
    case 'number':
    case 'integer': {
      const number = text.trim() === '' ? NaN : Number(text);
      return Number.isFinite(number) ? number : text;
    }
    case 'boolean':
      if (/^(true|yes|1)$/i.test(text)) return true;
      if (/^(false|no|0)$/i.test(text)) return false;
      return text;
    case 'string':
    case undefined:
      return text;
    default:
      return assertNever(type, 'parameter type');
  }
}

/** A file for a request body: its plain name and base64 content, as POST /api/executions takes it. */
export interface UploadFile {
  name: string;
  content: string;
}

/**
 * Reads the files given with `-f`, named by their base name.
 * @throws CliError (usage) for a file that cannot be read, or two with the same base name.
 */
export async function readUploads(paths: string[]): Promise<UploadFile[]> {
  const files: UploadFile[] = [];
  for (const file of paths) {
    const name = path.basename(file);
    if (files.some((other) => other.name === name)) {
      throw usageError(`-f ${file}: another file is also named "${name}", and the execution sees files by name`);
    }
    files.push({ name, content: (await readLocal(file, '-f')).toString('base64') });
  }
  return files;
}

/** The text of a local file given with `flag`. */
export async function readText(file: string, flag: string): Promise<string> {
  return (await readLocal(file, flag)).toString('utf8');
}

async function readLocal(file: string, flag: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a directory, not a file' : (code ?? 'unreadable');
    throw usageError(`${flag} ${file}: ${why}`);
  }
}

/** Reads `--options` and `--parameters`: a JSON object. */
export function parseJsonObject(text: string, flag: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw usageError(`${flag}: not valid JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw usageError(`${flag}: a JSON object is needed, such as '{"maxAttempts": 2}'`);
  }
  return value as Record<string, unknown>;
}
