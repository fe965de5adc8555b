import { isPrivateAddress, receiverProblem } from './addresses';

describe('receiver addresses', () => {
  test.each([
    '127.0.0.1',
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '::1',
    '::',
    'fd00::1',
    'fe80::1',
    '::ffff:10.0.0.1',
    'not-an-ip',
  ])('%s is private', (address) => {
    expect(isPrivateAddress(address)).toBe(true);
  });

  test.each(['8.8.8.8', '172.32.0.1', '100.128.0.1', '1.1.1.1', '2606:4700::1111', '::ffff:8.8.4.4'])(
    '%s is public',
    (address) => {
      expect(isPrivateAddress(address)).toBe(false);
    },
  );

  test('a receiver URL is http(s), without credentials, and public unless private ones are allowed', () => {
    expect(receiverProblem('https://hooks.example.com/in', false)).toBeNull();
    expect(receiverProblem('ftp://example.com/', false)).toBe('must be http or https');
    expect(receiverProblem('nonsense', false)).toBe('is not a URL');
    expect(receiverProblem('https://user:pw@example.com/', false)).toBe('must not carry credentials');
    expect(receiverProblem('http://127.0.0.1:9000/', false)).toContain('WEBHOOK_ALLOW_PRIVATE');
    expect(receiverProblem('http://[::1]:9000/', false)).toContain('private address');
    expect(receiverProblem('http://localhost/', false)).toContain('private address');
    expect(receiverProblem('http://127.0.0.1:9000/', true)).toBeNull();
  });
});
