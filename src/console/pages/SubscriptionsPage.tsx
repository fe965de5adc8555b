import { useState, type FormEvent } from 'react';
import { adminApi, describeError, type Subscription } from '../api';
import { useLoad } from '../components/useLoad';
import { duration, when } from '../format';
import { useSession } from '../session';
import { CheckboxGroup, ErrorText } from '../components/FormBits';

const EVENTS = ['status', 'awaiting_input', 'completed'] as const;

/** Where a tenant's execution events are sent, and how each delivery went. */
export function SubscriptionsPage() {
  const { can } = useSession();
  const { data, error, reload } = useLoad(() => adminApi.subscriptions(), []);
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState<string[]>([...EVENTS]);
  const [made, setMade] = useState<Subscription | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  if (!can('admin')) {
    return (
      <section>
        <h1>Subscriptions</h1>
        <p>Managing subscriptions needs a key with the “admin” scope.</p>
      </section>
    );
  }
  const act = async (action: () => Promise<unknown>) => {
    setProblem(null);
    try {
      await action();
      await reload();
    } catch (failure) {
      setProblem(describeError(failure));
    }
  };
  const subscribe = (event: FormEvent) => {
    event.preventDefault();
    void act(async () => {
      setMade(await adminApi.subscribe({ url, events }));
      setUrl('');
    });
  };
  return (
    <section>
      <h1>Subscriptions</h1>
      {error && <p className="error">{error}</p>}
      {made?.secret && (
        <div className="banner banner-warning" role="status">
          The signing secret of {made.url}, shown this once: <code className="secret">{made.secret}</code>
        </div>
      )}
      {data?.subscriptions.length === 0 && <p className="muted">No subscriptions.</p>}
      <ul className="cards">
        {data?.subscriptions.map((subscription) => (
          <li key={subscription.id} className="card">
            <code className="small">{subscription.url}</code>{' '}
            <span className="muted small">
              {subscription.events.join(', ')}
              {subscription.executionId ? ` · execution ${subscription.executionId} only` : ''}
            </span>
            <div className="buttons">
              <button
                type="button"
                className="secondary"
                onClick={() => setOpen(open === subscription.id ? null : subscription.id)}
              >
                {open === subscription.id ? 'Hide deliveries' : 'Deliveries'}
              </button>
              <button
                type="button"
                className="danger"
                onClick={() => window.confirm('Unsubscribe?') && void act(() => adminApi.unsubscribe(subscription.id))}
              >
                Unsubscribe
              </button>
            </div>
            {open === subscription.id && <Deliveries id={subscription.id} />}
          </li>
        ))}
      </ul>
      <form className="narrow" onSubmit={subscribe}>
        <h2>New subscription</h2>
        <label htmlFor="subscription-url">Receiver URL</label>
        <input id="subscription-url" type="url" required value={url} onChange={(event) => setUrl(event.target.value)} />
        <CheckboxGroup legend="Events" options={EVENTS} chosen={events} change={setEvents} />
        <button type="submit" disabled={events.length === 0}>
          Subscribe
        </button>
      </form>
      <ErrorText error={problem} />
    </section>
  );
}

function Deliveries({ id }: { id: string }) {
  const { data, error } = useLoad(() => adminApi.deliveries(id), [id]);
  if (error) return <p className="error">{error}</p>;
  if (!data) return <p role="status">Loading deliveries…</p>;
  if (data.deliveries.length === 0) return <p className="muted">Nothing delivered yet.</p>;
  return (
    <div className="table-wrap">
      <table>
        <caption className="visually-hidden">Deliveries, newest first</caption>
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Event</th>
            <th scope="col">Outcome</th>
            <th scope="col">Took</th>
          </tr>
        </thead>
        <tbody>
          {data.deliveries.map((delivery) => (
            <tr key={`${delivery.deliveryId}-${delivery.attempt}`}>
              <td>{when(delivery.at)}</td>
              <td>
                {delivery.event} <span className="muted small">{delivery.executionId}</span>
              </td>
              <td>
                {delivery.outcome} (attempt {delivery.attempt}
                {delivery.responseStatus === null ? '' : `, HTTP ${delivery.responseStatus}`}
                {delivery.error ? `: ${delivery.error}` : ''})
              </td>
              <td>{duration(delivery.durationMs)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
