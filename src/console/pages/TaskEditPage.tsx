import { useEffect, useState, type FormEvent } from 'react';
import { useNavigate, useParams } from 'react-router-dom';
import { describeError, tasksApi, type Task, type TaskBody } from '../api';
import { ErrorText } from '../components/FormBits';

const EXAMPLE_PARAMETERS = `{
  "properties": {
    "region": { "type": "string", "enum": ["North", "South"], "description": "the region to look at" }
  },
  "required": ["region"]
}`;

/** A new task, or the next version of one: the same form. */
export function TaskEditPage() {
  const slugParam = useParams().slug;
  const editing = slugParam !== undefined;
  const navigate = useNavigate();
  const [slug, setSlug] = useState('');
  const [title, setTitle] = useState('');
  const [description, setDescription] = useState('');
  const [parameters, setParameters] = useState('');
  const [code, setCode] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [loaded, setLoaded] = useState<Task | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!editing) return;
    tasksApi.get(slugParam).then(
      (task) => {
        setLoaded(task);
        setTitle(task.title);
        setDescription(task.description);
        setParameters(
          Object.keys(task.parameters.properties).length === 0 ? '' : JSON.stringify(task.parameters, null, 2),
        );
        setCode(task.code ?? '');
      },
      (failure: unknown) => setError(describeError(failure)),
    );
  }, [editing, slugParam]);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    let parsed: TaskBody['parameters'];
    if (parameters.trim() !== '') {
      try {
        parsed = JSON.parse(parameters) as TaskBody['parameters'];
      } catch {
        setError('The parameters are not valid JSON.');
        return;
      }
    }
    const body: TaskBody = {
      title,
      description,
      ...(parsed === undefined ? {} : { parameters: parsed }),
      ...(code.trim() === '' ? {} : { code }),
    };
    setBusy(true);
    try {
      const saved = editing ? await tasksApi.update(slugParam, body) : await tasksApi.create({ slug, ...body });
      navigate(`/tasks/${encodeURIComponent(saved.slug)}`);
    } catch (failure) {
      setError(describeError(failure));
      setBusy(false);
    }
  };

  return (
    <section className="narrow">
      <h1>{editing ? `Edit ${slugParam}` : 'New task'}</h1>
      {editing && loaded && (
        <p className="muted">Saving makes version {loaded.version + 1}; earlier versions are kept.</p>
      )}
      <form onSubmit={(event) => void submit(event)}>
        {!editing && (
          <>
            <label htmlFor="slug">Slug (its name in URLs, letters, digits and dashes)</label>
            <input id="slug" required value={slug} onChange={(event) => setSlug(event.target.value)} />
          </>
        )}
        <label htmlFor="title">Title</label>
        <input id="title" required value={title} onChange={(event) => setTitle(event.target.value)} />
        <label htmlFor="description">Task text, with {'{{name}}'} where a parameter goes</label>
        <textarea
          id="description"
          required
          rows={4}
          value={description}
          onChange={(event) => setDescription(event.target.value)}
        />
        <label htmlFor="parameters">Parameters (JSON, optional)</label>
        <textarea
          id="parameters"
          className="code"
          rows={7}
          spellCheck={false}
          placeholder={EXAMPLE_PARAMETERS}
          value={parameters}
          onChange={(event) => setParameters(event.target.value)}
        />
        <label htmlFor="task-code">Code instead of a model (optional)</label>
        <textarea
          id="task-code"
          className="code"
          rows={5}
          spellCheck={false}
          value={code}
          onChange={(event) => setCode(event.target.value)}
        />
        <ErrorText error={error} />
        <button type="submit" disabled={busy}>
          {busy ? 'Saving…' : 'Save the task'}
        </button>
      </form>
    </section>
  );
}
