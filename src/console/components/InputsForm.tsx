import { useState, type FormEvent, type ReactNode } from 'react';
import type { Parameter, Task } from '../api';

type Values = Record<string, string | boolean>;

/** The initial form values: each parameter's default, else empty (false for a boolean). */
function initial(task: Task): Values {
  const values: Values = {};
  for (const [name, parameter] of Object.entries(task.parameters.properties)) {
    values[name] = parameter.type === 'boolean' ? parameter.default === true : String(parameter.default ?? '');
  }
  return values;
}

/** The form's text as the JSON types the parameters ask for; empty optional fields are left out. */
function inputsOf(task: Task, values: Values): Record<string, unknown> {
  const inputs: Record<string, unknown> = {};
  for (const [name, parameter] of Object.entries(task.parameters.properties)) {
    const value = values[name];
    if (parameter.type === 'boolean') inputs[name] = value === true;
    else if (value === '' || value === undefined) continue;
    else if (parameter.type === 'number' || parameter.type === 'integer') inputs[name] = Number(value);
    else inputs[name] = value;
  }
  return inputs;
}

function Field({
  name,
  parameter,
  required,
  value,
  set,
  idPrefix,
}: {
  name: string;
  parameter: Parameter;
  required: boolean;
  value: string | boolean;
  set: (value: string | boolean) => void;
  idPrefix: string;
}) {
  const id = `${idPrefix}-${name}`;
  const label = (
    <>
      {name}
      {required ? ' (required)' : ''}
      {parameter.description && <span className="muted"> — {parameter.description}</span>}
    </>
  );
  if (parameter.type === 'boolean') {
    return (
      <label className="check">
        <input type="checkbox" checked={value === true} onChange={(event) => set(event.target.checked)} />
        {label}
      </label>
    );
  }
  return (
    <>
      <label htmlFor={id}>{label}</label>
      {parameter.enum ? (
        <select id={id} required={required} value={String(value)} onChange={(event) => set(event.target.value)}>
          {!required && <option value="">(none)</option>}
          {required && value === '' && <option value="">choose…</option>}
          {parameter.enum.map((option) => (
            <option key={String(option)} value={String(option)}>
              {String(option)}
            </option>
          ))}
        </select>
      ) : (
        <input
          id={id}
          required={required}
          type={parameter.type === 'string' ? 'text' : 'number'}
          step={parameter.type === 'integer' ? 1 : 'any'}
          value={String(value)}
          onChange={(event) => set(event.target.value)}
        />
      )}
    </>
  );
}

/** A form generated from a task's parameters; `submit` gets the inputs as the API takes them. */
export function InputsForm({
  task,
  submitLabel,
  idPrefix,
  submit,
  busy,
  children,
}: {
  task: Task;
  submitLabel: string;
  idPrefix: string;
  submit: (inputs: Record<string, unknown>) => void;
  busy: boolean;
  children?: ReactNode;
}) {
  const [values, setValues] = useState<Values>(() => initial(task));
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    submit(inputsOf(task, values));
  };
  const entries = Object.entries(task.parameters.properties);
  return (
    <form onSubmit={onSubmit}>
      {entries.length === 0 && <p className="muted">This task takes no parameters.</p>}
      {entries.map(([name, parameter]) => (
        <Field
          key={name}
          name={name}
          parameter={parameter}
          required={task.parameters.required.includes(name)}
          value={values[name] ?? ''}
          set={(value) => setValues((current) => ({ ...current, [name]: value }))}
          idPrefix={idPrefix}
        />
      ))}
      {children}
      <button type="submit" disabled={busy}>
        {submitLabel}
      </button>
    </form>
  );
}
