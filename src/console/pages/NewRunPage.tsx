import { useRef, useState, type DragEvent, type FormEvent } from 'react';
import { useNavigate } from 'react-router-dom';
import { api, describeError } from '../api';
import { bytes } from '../format';
import { useSession } from '../session';
import { ErrorText } from '../components/FormBits';

/** A new run, as a person starts it: `triggeredBy: "user"`, the files as multipart parts. */
export function NewRunPage() {
  const navigate = useNavigate();
  const { can } = useSession();
  const [task, setTask] = useState('');
  const [code, setCode] = useState('');
  const [files, setFiles] = useState<File[]>([]);
  const [requireApproval, setRequireApproval] = useState(false);
  const [askWhenStuck, setAskWhenStuck] = useState(false);
  const [maxAttempts, setMaxAttempts] = useState(3);
  const [dragging, setDragging] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const picker = useRef<HTMLInputElement>(null);

  const add = (list: FileList | null) => {
    if (!list) return;
    const added = Array.from(list);
    setFiles((current) => [...current.filter((file) => !added.some((a) => a.name === file.name)), ...added]);
  };
  const drop = (event: DragEvent) => {
    event.preventDefault();
    setDragging(false);
    add(event.dataTransfer.files);
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const form = new FormData();
    if (task.trim()) form.set('task', task.trim());
    if (code.trim()) form.set('code', code);
    form.set('triggeredBy', 'user');
    form.set(
      'options',
      JSON.stringify({ requireApproval, maxAttempts, ...(askWhenStuck ? { onExhausted: 'ask' } : {}) }),
    );
    for (const file of files) form.append('files', file, file.name);
    try {
      const started = await api.start(form);
      navigate(`/runs/${encodeURIComponent(started.id)}`);
    } catch (failure) {
      setError(describeError(failure));
      setBusy(false);
    }
  };

  if (!can('run')) {
    return (
      <section>
        <h1>New run</h1>
        <p>This key may read runs but not start them (it lacks the “run” scope).</p>
      </section>
    );
  }

  return (
    <section className="narrow">
      <h1>New run</h1>
      <form onSubmit={(event) => void submit(event)}>
        <label htmlFor="task">What should be found out?</label>
        <textarea
          id="task"
          rows={4}
          value={task}
          onChange={(event) => setTask(event.target.value)}
          placeholder="Which region had the highest revenue growth? Plot revenue by month."
        />
        <div
          className={`dropzone${dragging ? ' dragging' : ''}`}
          onDragOver={(event) => {
            event.preventDefault();
            setDragging(true);
          }}
          onDragLeave={() => setDragging(false)}
          onDrop={drop}
        >
          <p>Drop data files here, or</p>
          <label htmlFor="files" className="button secondary">
            Choose files
          </label>
          <input
            id="files"
            ref={picker}
            className="visually-hidden"
            type="file"
            multiple
            onChange={(event) => {
              add(event.target.files);
              if (picker.current) picker.current.value = '';
            }}
          />
        </div>
        {files.length > 0 && (
          <ul className="files" aria-label="Files to upload">
            {files.map((file) => (
              <li key={file.name}>
                {file.name} <span className="muted">({bytes(file.size)})</span>{' '}
                <button
                  type="button"
                  className="link"
                  aria-label={`Remove ${file.name}`}
                  onClick={() => setFiles(files.filter((other) => other !== file))}
                >
                  remove
                </button>
              </li>
            ))}
          </ul>
        )}
        <details>
          <summary>Code instead of a task (runs as the only step, no model)</summary>
          <label htmlFor="code">Python code</label>
          <textarea
            id="code"
            className="code"
            rows={8}
            spellCheck={false}
            value={code}
            onChange={(event) => setCode(event.target.value)}
          />
        </details>
        <fieldset>
          <legend>Options</legend>
          <label className="check">
            <input
              type="checkbox"
              checked={requireApproval}
              onChange={(event) => setRequireApproval(event.target.checked)}
            />
            Ask me to approve the plan before any code runs
          </label>
          <label className="check">
            <input type="checkbox" checked={askWhenStuck} onChange={(event) => setAskWhenStuck(event.target.checked)} />
            Ask me for a hint or code when a step keeps failing
          </label>
          <label htmlFor="max-attempts">Code attempts per step</label>
          <input
            id="max-attempts"
            type="number"
            min={1}
            max={10}
            value={maxAttempts}
            onChange={(event) => setMaxAttempts(Number(event.target.value))}
          />
        </fieldset>
        <ErrorText error={error} />
        <button type="submit" disabled={busy || (task.trim() === '' && code.trim() === '')}>
          {busy ? 'Starting…' : 'Start the run'}
        </button>
      </form>
    </section>
  );
}
