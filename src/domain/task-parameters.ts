import { z } from 'zod';

/**
 * A named task's parameters: the subset of JSON Schema a form and a check need. Each parameter is a
 * string, number, integer or boolean, optionally one of an `enum`, with an optional `default`.
 */
const parameterSchema = z
  .object({
    type: z.enum(['string', 'number', 'integer', 'boolean']),
    description: z.string().max(1000).optional(),
    enum: z
      .array(z.union([z.string(), z.number(), z.boolean()]))
      .min(1)
      .max(100)
      .optional(),
    default: z.union([z.string(), z.number(), z.boolean()]).optional(),
  })
  .strict();

const PARAMETER_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export const parametersSchema = z
  .object({
    type: z.literal('object').default('object'),
    properties: z
      .record(z.string().regex(PARAMETER_NAME, 'parameter names are letters, digits and "_"'), parameterSchema)
      .default({}),
    required: z.array(z.string()).default([]),
  })
  .strict()
  .superRefine((schema, context) => {
    for (const name of schema.required) {
      if (!(name in schema.properties)) {
        context.addIssue({ code: 'custom', path: ['required'], message: `"${name}" is required but not a property` });
      }
    }
    for (const [name, parameter] of Object.entries(schema.properties)) {
      if (parameter.default !== undefined) {
        const problem = valueProblem(parameter, parameter.default);
        if (problem !== null)
          context.addIssue({ code: 'custom', path: ['properties', name, 'default'], message: problem });
      }
    }
  });

export type TaskParameters = z.infer<typeof parametersSchema>;
type Parameter = TaskParameters['properties'][string];
export type InputValue = string | number | boolean;

function valueProblem(parameter: Parameter, value: unknown): string | null {
  switch (parameter.type) {
    case 'string':
      if (typeof value !== 'string') return 'must be a string';
      break;
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) return 'must be a number';
      break;
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) return 'must be an integer';
      break;
    case 'boolean':
      if (typeof value !== 'boolean') return 'must be true or false';
      break;
  }
  if (parameter.enum && !parameter.enum.includes(value as InputValue)) {
    return `must be one of ${parameter.enum.map((option) => JSON.stringify(option)).join(', ')}`;
  }
  return null;
}

/**
 * The inputs of a run checked against the task's parameters, with defaults filled in: the values,
 * or a problem per field. Unknown inputs are problems too, so a misspelt name is not silently lost.
 */
export function checkInputs(
  parameters: TaskParameters,
  inputs: Record<string, unknown>,
):
  { ok: true; values: Record<string, InputValue> } | { ok: false; problems: Array<{ path: string; message: string }> } {
  const values: Record<string, InputValue> = {};
  const problems: Array<{ path: string; message: string }> = [];
  for (const name of Object.keys(inputs)) {
    if (!(name in parameters.properties))
      problems.push({ path: `inputs.${name}`, message: 'is not a parameter of this task' });
  }
  for (const [name, parameter] of Object.entries(parameters.properties)) {
    const value = inputs[name] ?? parameter.default;
    if (value === undefined) {
      if (parameters.required.includes(name)) problems.push({ path: `inputs.${name}`, message: 'is required' });
      continue;
    }
    const problem = valueProblem(parameter, value);
    if (problem !== null) problems.push({ path: `inputs.${name}`, message: problem });
    else values[name] = value as InputValue;
  }
  return problems.length === 0 ? { ok: true, values } : { ok: false, problems };
}

/**
 * The task text with each `{{name}}` replaced by its input, and by nothing for an optional parameter
 * left out. Every placeholder names a parameter: `unknownPlaceholders` refuses others when a task is saved.
 */
export function renderDescription(description: string, values: Record<string, InputValue>): string {
  return description.replace(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g, (_whole, name: string) =>
    name in values ? String(values[name]) : '',
  );
}

/** Placeholders in a description that name no parameter: a task with one is refused when saved. */
export function unknownPlaceholders(description: string, parameters: TaskParameters): string[] {
  const names = [...description.matchAll(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g)].map((match) => match[1]);
  return [...new Set(names.filter((name) => !(name in parameters.properties)))];
}
