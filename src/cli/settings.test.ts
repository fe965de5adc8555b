import { DEFAULT_GATEWAY_URL, loadCliSettings } from './settings';

describe('CLI settings', () => {
  test('flags win over the environment, which wins over the default', () => {
    expect(loadCliSettings({}, {})).toEqual({ url: DEFAULT_GATEWAY_URL, key: undefined });
    const env = { AGENT_EXEC_URL: 'https://exec.example.com/', AGENT_EXEC_KEY: 'ak_env' };
    expect(loadCliSettings({}, env)).toEqual({ url: 'https://exec.example.com', key: 'ak_env' });
    expect(loadCliSettings({ url: 'http://127.0.0.1:4000', key: 'ak_flag' }, env)).toEqual({
      url: 'http://127.0.0.1:4000',
      key: 'ak_flag',
    });
  });

  test('blank values count as unset', () => {
    expect(loadCliSettings({}, { AGENT_EXEC_URL: ' ', AGENT_EXEC_KEY: '' })).toEqual({
      url: DEFAULT_GATEWAY_URL,
      key: undefined,
    });
  });

  test('a URL that is not http(s) is a usage error', () => {
    expect(() => loadCliSettings({ url: 'localhost:3000' }, {})).toThrow('not an http or https URL');
    expect(() => loadCliSettings({ url: 'not a url' }, {})).toThrow('is not a URL');
  });
});
