import { SlotTable } from './slots';

describe("a tenant's running slots", () => {
  const table = () => new SlotTable({ tenant: 'acme', limit: 2, holders: [], waiting: [] });

  test('up to the limit are granted at once; the rest wait in order and are granted as slots free', () => {
    const slots = table();
    expect(slots.acquire('a', 2)).toEqual({ granted: ['a'], position: null });
    expect(slots.acquire('b', 2)).toEqual({ granted: ['b'], position: null });
    expect(slots.acquire('c', 2)).toEqual({ granted: [], position: 1 });
    expect(slots.acquire('d', 2)).toEqual({ granted: [], position: 2 });
    expect(slots.release('a')).toEqual({ granted: ['c'], position: null });
    expect(slots.snapshot()).toEqual({ tenant: 'acme', limit: 2, holders: ['b', 'c'], waiting: ['d'] });
  });

  test('asking twice changes nothing; a waiter that gives up leaves the queue', () => {
    const slots = table();
    slots.acquire('a', 1);
    expect(slots.acquire('a', 1)).toEqual({ granted: [], position: null });
    expect(slots.acquire('b', 1).position).toBe(1);
    expect(slots.acquire('b', 1).position).toBe(1);
    expect(slots.acquire('c', 1).position).toBe(2);
    expect(slots.release('b')).toEqual({ granted: [], position: null });
    expect(slots.release('a')).toEqual({ granted: ['c'], position: null });
    expect(slots.release('c').granted).toEqual([]);
    expect(slots.isIdle).toBe(true);
  });

  test('a raised limit admits waiters at the next ask; a limit below one counts as one', () => {
    const slots = table();
    slots.acquire('a', 1);
    expect(slots.acquire('b', 1).position).toBe(1);
    expect(slots.acquire('c', 3)).toEqual({ granted: ['b', 'c'], position: null });
    expect(slots.running).toBe(3);
    const one = new SlotTable({ tenant: 'acme', limit: 0, holders: [], waiting: [] });
    expect(one.acquire('x', 0).granted).toEqual(['x']);
    expect(one.acquire('y', 0).position).toBe(1);
  });
});
