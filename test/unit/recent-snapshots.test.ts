import { RecentSnapshots } from '../../src/api/recent-snapshots';
import type { ExecutionSnapshot } from '../../src/domain/types';

const snapshot = (id: string, seq = 1) => ({ id, seq }) as ExecutionSnapshot;

describe('RecentSnapshots', () => {
  test('keeps the last snapshot of each execution', () => {
    const recent = new RecentSnapshots();
    recent.remember(snapshot('a', 1));
    recent.remember(snapshot('a', 2));
    expect(recent.last('a')?.seq).toBe(2);
    expect(recent.last('b')).toBeNull();
  });

  test('drops the least recently used beyond its capacity', () => {
    const recent = new RecentSnapshots(2);
    recent.remember(snapshot('a'));
    recent.remember(snapshot('b'));
    recent.last('a'); // a is now more recent than b
    recent.remember(snapshot('c'));
    expect(recent.last('b')).toBeNull();
    expect(recent.last('a')?.id).toBe('a');
    expect(recent.last('c')?.id).toBe('c');
  });

  test('forgets an execution on request', () => {
    const recent = new RecentSnapshots();
    recent.remember(snapshot('a'));
    recent.forget('a');
    expect(recent.last('a')).toBeNull();
  });
});
