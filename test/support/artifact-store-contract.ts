import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { ArtifactNotFoundError, UnsafePathError, type ArtifactStore } from '../../src/storage/artifact-store';

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/**
 * What every artifact store does the same way, whatever keeps the bytes. `store()` gives the store
 * under test, empty at the start of each test (the caller's beforeEach makes it so).
 */
export function describeArtifactStoreContract(store: () => ArtifactStore): void {
  test('put and read round-trip, and the reference names the bytes', async () => {
    const data = Buffer.from('region,amount\nnorth,10\n');

    const ref = await store().put('exec-1', 'inputs', 'sales.csv', data);

    expect(ref).toEqual({
      name: 'sales.csv',
      key: 'inputs/sales.csv',
      size: data.length,
      sha256: sha256(data),
      contentType: 'text/csv',
    });
    expect(await store().read('exec-1', ref.key)).toEqual(data);
  });

  test('put replaces what was stored under the same key', async () => {
    await store().put('exec-1', 'inputs', 'a.csv', Buffer.from('first'));
    await store().put('exec-1', 'inputs', 'a.csv', Buffer.from('second, longer'));

    expect((await store().read('exec-1', 'inputs/a.csv')).toString()).toBe('second, longer');
    expect(await store().stat('exec-1', 'inputs/a.csv')).toEqual({ key: 'inputs/a.csv', size: 14 });
  });

  test('putStream stores what the stream yields, with its size and sha256', async () => {
    const chunks = [Buffer.from('a'.repeat(70_000)), Buffer.from('b'.repeat(10)), Buffer.from('\n')];
    const whole = Buffer.concat(chunks);

    const ref = await store().putStream('exec-1', 'steps/load/1', 'out/data.csv', Readable.from(chunks));

    expect(ref).toMatchObject({ key: 'steps/load/1/out/data.csv', size: whole.length, sha256: sha256(whole) });
    expect(await store().read('exec-1', ref.key)).toEqual(whole);
    expect(await store().list('exec-1')).toEqual([{ key: 'steps/load/1/out/data.csv', size: whole.length }]);
  });

  test('a failing source stores nothing', async () => {
    async function* failing() {
      yield Buffer.from('partial');
      throw new Error('the source broke');
    }

    await expect(store().putStream('exec-1', 'inputs', 'broken.csv', Readable.from(failing()))).rejects.toThrow(
      'the source broke',
    );

    expect(await store().stat('exec-1', 'inputs/broken.csv')).toBeNull();
    expect(await store().list('exec-1')).toEqual([]);
  });

  test('readStream streams the whole file, or a byte range of it', async () => {
    await store().put('exec-1', 'inputs', 'digits.txt', Buffer.from('0123456789'));

    expect((await buffer(await store().readStream('exec-1', 'inputs/digits.txt'))).toString()).toBe('0123456789');
    const range = await store().readStream('exec-1', 'inputs/digits.txt', { start: 2, end: 4 });
    expect((await buffer(range)).toString()).toBe('234');
    const tail = await store().readStream('exec-1', 'inputs/digits.txt', { start: 7 });
    expect((await buffer(tail)).toString()).toBe('789');
  });

  test('a missing key: stat is null, reads reject with ArtifactNotFoundError', async () => {
    await store().put('exec-1', 'inputs', 'a.csv', Buffer.from('a'));

    expect(await store().stat('exec-1', 'inputs/missing.csv')).toBeNull();
    expect(await store().stat('exec-2', 'inputs/a.csv')).toBeNull();
    // A folder is not a stored file.
    expect(await store().stat('exec-1', 'inputs')).toBeNull();
    await expect(store().read('exec-1', 'inputs/missing.csv')).rejects.toThrow(ArtifactNotFoundError);
    await expect(store().readStream('exec-1', 'inputs/missing.csv')).rejects.toThrow(ArtifactNotFoundError);
    await expect(store().readStream('exec-1', 'inputs')).rejects.toThrow(ArtifactNotFoundError);
    await expect(store().copy('exec-1', 'inputs/missing.csv', 'exec-2')).rejects.toThrow(ArtifactNotFoundError);
  });

  test('stat gives the size of a stored file', async () => {
    await store().put('exec-1', 'inputs', 'a.csv', Buffer.from('abc'));

    expect(await store().stat('exec-1', 'inputs/a.csv')).toEqual({ key: 'inputs/a.csv', size: 3 });
  });

  test('list gives every file of an execution in key order, or those below a folder', async () => {
    await store().put('exec-1', 'steps/load/1', 'out/b.csv', Buffer.from('bb'));
    await store().put('exec-1', 'inputs', 'z.csv', Buffer.from('z'));
    await store().put('exec-1', 'steps/load/1', 'a.txt', Buffer.from('a'));
    await store().put('exec-10', 'inputs', 'ten.csv', Buffer.from('ten'));
    await store().put('exec-2', 'inputs', 'other.csv', Buffer.from('other'));

    expect(await store().list('exec-1')).toEqual([
      { key: 'inputs/z.csv', size: 1 },
      { key: 'steps/load/1/a.txt', size: 1 },
      { key: 'steps/load/1/out/b.csv', size: 2 },
    ]);
    expect(await store().list('exec-1', 'steps/load')).toEqual([
      { key: 'steps/load/1/a.txt', size: 1 },
      { key: 'steps/load/1/out/b.csv', size: 2 },
    ]);
    // A folder is matched whole, not as the start of a longer name.
    expect(await store().list('exec-1', 'steps/lo')).toEqual([]);
    expect(await store().list('exec-1', 'steps/clean')).toEqual([]);
    expect(await store().list('exec-3')).toEqual([]);
  });

  test('names with spaces and non-ASCII letters are kept as given', async () => {
    const ref = await store().put('exec-1', 'inputs', 'ventes été 2024.csv', Buffer.from('x'));

    expect(ref.key).toBe('inputs/ventes été 2024.csv');
    expect(await store().list('exec-1')).toEqual([{ key: 'inputs/ventes été 2024.csv', size: 1 }]);
    await store().copy('exec-1', ref.key, 'exec-2');
    expect((await store().read('exec-2', ref.key)).toString()).toBe('x');
  });

  test('delete removes one file, and says whether there was one', async () => {
    await store().put('exec-1', 'inputs', 'a.csv', Buffer.from('a'));
    await store().put('exec-1', 'inputs', 'b.csv', Buffer.from('b'));

    expect(await store().delete('exec-1', 'inputs/a.csv')).toBe(true);
    expect(await store().delete('exec-1', 'inputs/a.csv')).toBe(false);
    expect(await store().delete('exec-1', 'inputs')).toBe(false);

    expect(await store().stat('exec-1', 'inputs/a.csv')).toBeNull();
    expect(await store().list('exec-1')).toEqual([{ key: 'inputs/b.csv', size: 1 }]);
  });

  test('copy puts the same bytes under the same key of another execution', async () => {
    const ref = await store().put('exec-1', 'steps/load/1', 'out/data.csv', Buffer.from('n\n1\n'));

    await store().copy('exec-1', ref.key, 'exec-2');

    expect(await store().read('exec-2', ref.key)).toEqual(Buffer.from('n\n1\n'));
    // The copy is a file of its own: changing one leaves the other.
    await store().put('exec-2', 'steps/load/1', 'out/data.csv', Buffer.from('changed'));
    expect((await store().read('exec-1', ref.key)).toString()).toBe('n\n1\n');
  });

  describe('keys and ids that would leave the execution are refused', () => {
    test.each(['../x', '/etc/passwd', 'inputs/../../x', 'inputs/.hidden', 'inputs//a', ''])('key %p', async (key) => {
      await store().put('exec-1', 'inputs', 'kept.csv', Buffer.from('kept'));

      await expect(store().read('exec-1', key)).rejects.toThrow(UnsafePathError);
      await expect(store().readStream('exec-1', key)).rejects.toThrow(UnsafePathError);
      await expect(store().stat('exec-1', key)).rejects.toThrow(UnsafePathError);
      await expect(store().delete('exec-1', key)).rejects.toThrow(UnsafePathError);
      await expect(store().copy('exec-1', key, 'exec-2')).rejects.toThrow(UnsafePathError);
      await expect(store().list('exec-1', key)).rejects.toThrow(UnsafePathError);
      expect((await store().read('exec-1', 'inputs/kept.csv')).toString()).toBe('kept');
    });

    test.each(['../x', '/etc', 'x/../..'])('name %p', async (name) => {
      await expect(store().put('exec-1', 'inputs', name, Buffer.from('x'))).rejects.toThrow(UnsafePathError);
      await expect(store().putStream('exec-1', 'inputs', name, Readable.from([Buffer.from('x')]))).rejects.toThrow(
        UnsafePathError,
      );
      expect(await store().executions()).toEqual([]);
    });

    test.each(['..', '../exec-1', '/etc', '.partial', ''])('execution id %p', async (executionId) => {
      await expect(store().put(executionId, 'inputs', 'a.csv', Buffer.from('x'))).rejects.toThrow(UnsafePathError);
      await expect(store().read(executionId, 'inputs/a.csv')).rejects.toThrow(UnsafePathError);
      await expect(store().list(executionId)).rejects.toThrow(UnsafePathError);
      await expect(store().copy('exec-1', 'inputs/a.csv', executionId)).rejects.toThrow(UnsafePathError);
      await expect(store().deleteAll(executionId)).rejects.toThrow(UnsafePathError);
    });
  });

  test('executions() lists each with its newest file; deleteAll removes one and counts its files', async () => {
    expect(await store().executions()).toEqual([]);
    const before = Date.now();
    await store().put('exec-a', 'inputs', 'a.csv', Buffer.from('a'));
    await store().put('exec-a', 'steps/main/1', 'out.txt', Buffer.from('b'));
    await store().put('exec-b', 'inputs', 'b.csv', Buffer.from('c'));
    const listed = await store().executions();
    expect(listed.map((entry) => entry.executionId)).toEqual(['exec-a', 'exec-b']);
    for (const entry of listed) {
      expect(entry.modifiedAt.getTime()).toBeGreaterThanOrEqual(before - 1000);
      expect(entry.modifiedAt.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
    }

    expect(await store().deleteAll('exec-a')).toBe(2);
    expect(await store().list('exec-a')).toEqual([]);
    expect((await store().executions()).map((entry) => entry.executionId)).toEqual(['exec-b']);
    expect(await store().deleteAll('exec-a')).toBe(0);
  });

  test('check() resolves for a store that can be used', async () => {
    await expect(store().check()).resolves.toBeUndefined();
  });
}
