import { useState, type FormEvent } from 'react';
import { adminApi, describeError, type ApiKey } from '../api';
import { useLoad } from '../components/useLoad';
import { when } from '../format';
import { useSession } from '../session';
import { CheckboxGroup, ErrorText } from '../components/FormBits';

const SCOPES = ['read', 'run', 'admin'] as const;

/** A tenant admin's keys: scopes, last use, revocation; a new key's secret shown once. */
export function KeysPage() {
  const { session, can } = useSession();
  const { data, error, reload } = useLoad(() => adminApi.keys(), []);
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<string[]>(['read', 'run']);
  const [made, setMade] = useState<ApiKey | null>(null);
  const [problem, setProblem] = useState<string | null>(null);

  if (!can('admin')) {
    return (
      <section>
        <h1>Keys</h1>
        <p>Managing keys needs a key with the “admin” scope.</p>
      </section>
    );
  }
  const create = async (event: FormEvent) => {
    event.preventDefault();
    setProblem(null);
    try {
      setMade(await adminApi.createKey({ name, scopes }));
      setName('');
      await reload();
    } catch (failure) {
      setProblem(describeError(failure));
    }
  };
  const revoke = async (key: ApiKey) => {
    if (!window.confirm(`Revoke ${key.name}? Whatever uses it stops working at once.`)) return;
    setProblem(null);
    try {
      await adminApi.revokeKey(key.id);
      await reload();
    } catch (failure) {
      setProblem(describeError(failure));
    }
  };
  return (
    <section>
      <h1>Keys{session && !session.operator ? ` of ${session.tenant}` : ''}</h1>
      {error && <p className="error">{error}</p>}
      {made && (
        <div className="banner banner-warning" role="status">
          The secret of {made.name}, shown this once: <code className="secret">{made.secret}</code>
        </div>
      )}
      {data && (
        <div className="table-wrap">
          <table>
            <caption className="visually-hidden">API keys</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Scopes</th>
                <th scope="col">Last used</th>
                <th scope="col">State</th>
              </tr>
            </thead>
            <tbody>
              {data.keys.map((key) => (
                <tr key={key.id}>
                  <td>
                    {key.name}
                    <div className="muted small">
                      {key.id}
                      {session?.operator ? ` · ${key.tenant}` : ''}
                    </div>
                  </td>
                  <td>{key.scopes.join(', ')}</td>
                  <td>{when(key.lastUsedAt)}</td>
                  <td>
                    {key.revokedAt ? (
                      `revoked ${when(key.revokedAt)}`
                    ) : key.expiresAt && Date.parse(key.expiresAt) < Date.now() ? (
                      'expired'
                    ) : (
                      <button
                        type="button"
                        className="danger"
                        aria-label={`Revoke ${key.name}`}
                        onClick={() => void revoke(key)}
                      >
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {!session?.operator && (
        <form className="narrow" onSubmit={(event) => void create(event)}>
          <h2>New key</h2>
          <label htmlFor="key-name">Name</label>
          <input id="key-name" required value={name} onChange={(event) => setName(event.target.value)} />
          <CheckboxGroup legend="Scopes" options={SCOPES} chosen={scopes} change={setScopes} />
          <button type="submit" disabled={scopes.length === 0}>
            Make the key
          </button>
        </form>
      )}
      <ErrorText error={problem} />
    </section>
  );
}
