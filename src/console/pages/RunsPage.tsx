import { useEffect, useState } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { EXECUTION_STATUSES, TRIGGERS } from '../../domain/status';
import { ApiError, api, describeError, type ExecutionSummary } from '../api';
import { StatusBadge } from '../components/StatusBadge';
import { when } from '../format';

const apiErrorOf = (error: { status: number; code: string; message: string }) =>
  new ApiError(error.status, error.code, error.message);

/** Runs, newest first, filtered by status, trigger and task, a page at a time, kept current. */
export function RunsPage() {
  const [params, setParams] = useSearchParams();
  const [pages, setPages] = useState<string[]>([]);
  const [runs, setRuns] = useState<ExecutionSummary[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [readAt, setReadAt] = useState<Date | null>(null);
  const status = params.get('status') ?? '';
  const trigger = params.get('triggeredBy') ?? '';
  const task = params.get('task') ?? '';
  const token = pages.at(-1) ?? null;

  // The page, live: the gateway's stream sends it again whenever a run is added or changes status.
  useEffect(() => {
    const query = new URLSearchParams({ pageSize: '20' });
    if (status) query.set('status', status);
    if (trigger) query.set('triggeredBy', trigger);
    if (task) query.set('task', task);
    if (token) query.set('nextPageToken', token);
    setRuns(null);
    setError(null);
    const events = new EventSource(`/api/executions/stream?${query}`);
    events.addEventListener('list', (event) => {
      const page = JSON.parse((event as MessageEvent<string>).data) as {
        executions: ExecutionSummary[];
        nextPageToken: string | null;
      };
      setRuns(page.executions);
      setNext(page.nextPageToken);
      setError(null);
      setReadAt(new Date());
    });
    events.addEventListener('problem', (event) => {
      setError(describeError(apiErrorOf(JSON.parse((event as MessageEvent<string>).data))));
    });
    events.onerror = () => {
      // EventSource tries again by itself; until then, say the list may be behind.
      setError('Live updates are interrupted; reconnecting…');
      if (events.readyState === EventSource.CLOSED) {
        // Refused outright (a 4xx): read once to learn why.
        api.list(query).catch((failure: unknown) => setError(describeError(failure)));
      }
    };
    return () => events.close();
  }, [status, trigger, task, token]);

  const filter = (name: string, value: string) => {
    const nextParams = new URLSearchParams(params);
    if (value) nextParams.set(name, value);
    else nextParams.delete(name);
    setPages([]);
    setParams(nextParams);
  };

  return (
    <section>
      <div className="heading-row">
        <h1>Runs</h1>
        <Link className="button" to="/runs/new">
          New run
        </Link>
      </div>
      <form className="filters" aria-label="Filter runs" onSubmit={(event) => event.preventDefault()}>
        <label>
          Status
          <select value={status} onChange={(event) => filter('status', event.target.value)}>
            <option value="">any</option>
            {EXECUTION_STATUSES.map((value) => (
              <option key={value} value={value}>
                {value.replace('_', ' ')}
              </option>
            ))}
          </select>
        </label>
        <label>
          Trigger
          <select value={trigger} onChange={(event) => filter('triggeredBy', event.target.value)}>
            <option value="">any</option>
            {TRIGGERS.map((value) => (
              <option key={value} value={value}>
                {value}
              </option>
            ))}
          </select>
        </label>
        <label>
          Task
          <input
            type="search"
            placeholder="slug of a named task"
            defaultValue={task}
            onKeyDown={(event) => event.key === 'Enter' && filter('task', event.currentTarget.value.trim())}
            onBlur={(event) => filter('task', event.currentTarget.value.trim())}
          />
        </label>
      </form>
      {error && (
        <p className="banner banner-error" role="alert">
          {error}
          {runs !== null && ' The list below is as it was last read.'}
        </p>
      )}
      {runs === null && !error && <p role="status">Loading runs…</p>}
      {runs !== null && runs.length === 0 && (
        <p>No runs{status || trigger || task ? ' match these filters' : ' yet'}.</p>
      )}
      {runs !== null && runs.length > 0 && (
        <div className="table-wrap">
          <table>
            <caption className="visually-hidden">Runs, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Task</th>
                <th scope="col">Status</th>
                <th scope="col">Trigger</th>
                <th scope="col">Started</th>
              </tr>
            </thead>
            <tbody>
              {runs.map((run) => (
                <tr key={run.id}>
                  <td>
                    <Link to={`/runs/${encodeURIComponent(run.id)}`}>{run.task ?? run.kind}</Link>
                    <div className="muted small">{run.id}</div>
                  </td>
                  <td>
                    <StatusBadge status={run.status} />
                  </td>
                  <td>{run.triggeredBy}</td>
                  <td>{when(run.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <nav className="pager" aria-label="Pages">
        <button type="button" disabled={pages.length === 0} onClick={() => setPages(pages.slice(0, -1))}>
          Newer
        </button>
        <button type="button" disabled={next === null} onClick={() => next && setPages([...pages, next])}>
          Older
        </button>
        {readAt && <span className="muted small">live · last change {readAt.toLocaleTimeString()}</span>}
      </nav>
    </section>
  );
}
