import { useState, type FormEvent } from 'react';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { describeError, tasksApi, type Hook, type Task } from '../api';
import { InputsForm } from '../components/InputsForm';
import { useLoad } from '../components/useLoad';
import { when } from '../format';
import { useSession } from '../session';
import { ErrorText } from '../components/FormBits';

/** One named task: what it is, a run of it from a form made from its parameters, its schedules and hooks. */
export function TaskPage() {
  const slug = useParams().slug!;
  const { can } = useSession();
  const [version, setVersion] = useState<number | undefined>(undefined);
  const { data: task, error, notFound } = useLoad(() => tasksApi.get(slug, version), [slug, version]);

  if (notFound) {
    return (
      <section>
        <h1>Task not found</h1>
        <p>There is no task {slug}, or it belongs to another tenant.</p>
        <Link to="/tasks">See the tasks</Link>
      </section>
    );
  }
  if (task === null) {
    return (
      <section>
        <h1>{slug}</h1>
        <p role={error ? 'alert' : 'status'}>{error ?? 'Loading the task…'}</p>
      </section>
    );
  }
  return (
    <article>
      <div className="heading-row">
        <h1>{task.title}</h1>
        {can('run') && (
          <Link className="button secondary" to={`/tasks/${encodeURIComponent(slug)}/edit`}>
            Edit
          </Link>
        )}
      </div>
      <p className="muted small">
        {task.slug} · version {task.version} · saved {when(task.createdAt)} ·{' '}
        <Link to={`/runs?task=${encodeURIComponent(task.slug)}`}>its runs</Link>
      </p>
      {task.versions && task.versions.length > 1 && (
        <label>
          Version
          <select
            value={version ?? ''}
            onChange={(event) => setVersion(event.target.value === '' ? undefined : Number(event.target.value))}
          >
            <option value="">latest</option>
            {task.versions.map((entry) => (
              <option key={entry.version} value={entry.version}>
                {entry.version} ({when(entry.createdAt)})
              </option>
            ))}
          </select>
        </label>
      )}
      <p className="prompt">{task.description}</p>
      {task.files.length > 0 && (
        <p className="muted">Default files: {task.files.map((file) => file.name).join(', ')}</p>
      )}
      {can('run') && <RunForm task={task} version={version} />}
      <Schedules task={task} />
      {can('run') && <Hooks slug={task.slug} />}
    </article>
  );
}

function RunForm({ task, version }: { task: Task; version: number | undefined }) {
  const navigate = useNavigate();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <section aria-labelledby="run-title">
      <h2 id="run-title">Run it</h2>
      <InputsForm
        key={`${task.slug}@${task.version}`}
        task={task}
        idPrefix="run"
        submitLabel="Run the task"
        busy={busy}
        submit={(inputs) => {
          setBusy(true);
          setError(null);
          tasksApi.run(task.slug, inputs, version).then(
            (started) => navigate(`/runs/${encodeURIComponent(started.id)}`),
            (failure: unknown) => {
              setError(describeError(failure));
              setBusy(false);
            },
          );
        }}
      />
      <ErrorText error={error} />
    </section>
  );
}

function Schedules({ task }: { task: Task }) {
  const { can } = useSession();
  const { data, error, reload } = useLoad(() => tasksApi.schedules(task.slug), [task.slug]);
  const [timing, setTiming] = useState<'every' | 'cron'>('every');
  const [spec, setSpec] = useState('1h');
  const [timezone, setTimezone] = useState('UTC');
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const act = async (action: () => Promise<unknown>) => {
    setBusy(true);
    setProblem(null);
    try {
      await action();
      await reload();
    } catch (failure) {
      setProblem(describeError(failure));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="schedules-title">
      <h2 id="schedules-title">Schedules</h2>
      {error && <p className="error">{error}</p>}
      {data?.schedules.length === 0 && <p className="muted">No schedule runs this task.</p>}
      <ul className="cards">
        {data?.schedules.map((schedule) => (
          <li key={schedule.id} className="card">
            <strong>{schedule.spec.every ? `every ${schedule.spec.every}` : `cron ${schedule.spec.cron}`}</strong>{' '}
            <span className="muted">
              ({schedule.spec.timezone}, version {String(schedule.task.version)}, overlap {schedule.overlap})
            </span>
            {schedule.paused && <span className="badge badge-paused">paused</span>}
            <div className="small">
              Next runs: {schedule.paused ? '(paused)' : schedule.nextRuns.slice(0, 3).map(when).join(' · ') || '–'}
            </div>
            {can('run') && (
              <div className="buttons">
                <button
                  type="button"
                  className="secondary"
                  disabled={busy}
                  onClick={() => void act(() => tasksApi.pauseSchedule(task.slug, schedule.id, !schedule.paused))}
                >
                  {schedule.paused ? 'Unpause' : 'Pause'}
                </button>
                <button
                  type="button"
                  className="secondary"
                  disabled={busy}
                  onClick={() => void act(() => tasksApi.triggerSchedule(task.slug, schedule.id))}
                >
                  Run now
                </button>
                <button
                  type="button"
                  className="danger"
                  disabled={busy}
                  onClick={() =>
                    window.confirm('Delete this schedule? Its runs go on.') &&
                    void act(() => tasksApi.deleteSchedule(task.slug, schedule.id))
                  }
                >
                  Delete
                </button>
              </div>
            )}
          </li>
        ))}
      </ul>
      {can('run') && (
        <details>
          <summary>New schedule</summary>
          <InputsForm
            key={`schedule-${task.slug}@${task.version}`}
            task={task}
            idPrefix="schedule"
            submitLabel="Make the schedule"
            busy={busy}
            submit={(inputs) => void act(() => tasksApi.schedule(task.slug, { [timing]: spec, timezone, inputs }))}
          >
            <fieldset>
              <legend>When</legend>
              <label className="check">
                <input
                  type="radio"
                  name="timing"
                  checked={timing === 'every'}
                  onChange={() => {
                    setTiming('every');
                    setSpec('1h');
                  }}
                />
                Every (30s, 5m, 2h, 1d)
              </label>
              <label className="check">
                <input
                  type="radio"
                  name="timing"
                  checked={timing === 'cron'}
                  onChange={() => {
                    setTiming('cron');
                    setSpec('0 9 * * 1-5');
                  }}
                />
                A cron expression (minute hour day month weekday)
              </label>
              <label htmlFor="schedule-spec">{timing === 'every' ? 'Interval' : 'Cron expression'}</label>
              <input id="schedule-spec" required value={spec} onChange={(event) => setSpec(event.target.value)} />
              <label htmlFor="schedule-timezone">Time zone</label>
              <input id="schedule-timezone" value={timezone} onChange={(event) => setTimezone(event.target.value)} />
            </fieldset>
          </InputsForm>
        </details>
      )}
      <ErrorText error={problem} />
    </section>
  );
}

function Hooks({ slug }: { slug: string }) {
  const { data, error, reload } = useLoad(() => tasksApi.hooks(slug), [slug]);
  const [secret, setSecret] = useState<{ hook: Hook; secret: string } | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const act = async (action: () => Promise<Hook | void>) => {
    setProblem(null);
    try {
      const hook = await action();
      if (hook && hook.secret) setSecret({ hook, secret: hook.secret });
      await reload();
    } catch (failure) {
      setProblem(describeError(failure));
    }
  };
  const absolute = (url: string) => new URL(url, window.location.origin).toString();
  return (
    <section aria-labelledby="hooks-title">
      <h2 id="hooks-title">Inbound webhooks</h2>
      <p className="muted">
        A POST to a hook's URL, signed with its secret, runs the task with the body's fields as inputs.
      </p>
      {error && <p className="error">{error}</p>}
      {secret && (
        <div className="banner banner-warning" role="status">
          The secret of {secret.hook.id}, shown this once: <code className="secret">{secret.secret}</code>
        </div>
      )}
      <ul className="cards">
        {data?.hooks.map((hook) => (
          <li key={hook.id} className="card">
            <code className="small">{absolute(hook.url)}</code>
            <div className="buttons">
              <button
                type="button"
                className="secondary"
                onClick={() => void act(() => tasksApi.rotateHook(slug, hook.id))}
              >
                Rotate the secret
              </button>
              <button
                type="button"
                className="danger"
                onClick={() =>
                  window.confirm('Delete this hook?') && void act(() => tasksApi.deleteHook(slug, hook.id))
                }
              >
                Delete
              </button>
            </div>
          </li>
        ))}
      </ul>
      <form
        onSubmit={(event: FormEvent) => {
          event.preventDefault();
          void act(() => tasksApi.createHook(slug));
        }}
      >
        <button type="submit">New hook</button>
      </form>
      <ErrorText error={problem} />
    </section>
  );
}
