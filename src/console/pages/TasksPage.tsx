import { Link } from 'react-router-dom';
import { tasksApi } from '../api';
import { useLoad } from '../components/useLoad';
import { when } from '../format';
import { useSession } from '../session';

export function TasksPage() {
  const { can } = useSession();
  const { data, error } = useLoad(() => tasksApi.list(), []);
  return (
    <section>
      <div className="heading-row">
        <h1>Tasks</h1>
        {can('run') && (
          <Link className="button" to="/tasks/new">
            New task
          </Link>
        )}
      </div>
      {error && (
        <p className="banner banner-error" role="alert">
          {error}
        </p>
      )}
      {data === null && !error && <p role="status">Loading tasks…</p>}
      {data !== null && data.tasks.length === 0 && <p>No named tasks yet.</p>}
      {data !== null && data.tasks.length > 0 && (
        <div className="table-wrap">
          <table>
            <caption className="visually-hidden">Named tasks</caption>
            <thead>
              <tr>
                <th scope="col">Task</th>
                <th scope="col">Version</th>
                <th scope="col">Saved</th>
              </tr>
            </thead>
            <tbody>
              {data.tasks.map((task) => (
                <tr key={task.slug}>
                  <td>
                    <Link to={`/tasks/${encodeURIComponent(task.slug)}`}>{task.title}</Link>
                    <div className="muted small">{task.slug}</div>
                  </td>
                  <td>{task.version}</td>
                  <td>{when(task.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
