import { ArrivalRate, follow, wantsWarm, warmTarget } from '../../src/sandbox/pool-policy';

describe('wantsWarm', () => {
  test.each([
    ['import pandas as pd', true],
    ['from matplotlib import pyplot', true],
    ['x = 1\n  import numpy', true],
    ['import seaborn', true],
    ['print(1)', false],
    ['import json\nprint("pandas")', false],
    ['import pandasql', false],
  ])('%p → %p', (code, expected) => {
    expect(wantsWarm(code)).toBe(expected);
  });
});

describe('ArrivalRate', () => {
  test('counts the jobs of the window, over the time they span', () => {
    const rate = new ArrivalRate(10_000);
    expect(rate.perSecond(0)).toBe(0);
    for (let t = 0; t < 5000; t += 500) rate.note(t); // 10 jobs in 5 s
    expect(rate.perSecond(5000)).toBeCloseTo(2, 5);
  });

  test('forgets what is older than the window', () => {
    const rate = new ArrivalRate(10_000);
    rate.note(0);
    rate.note(100);
    expect(rate.perSecond(20_000)).toBe(0);
  });

  test('a lone job counts over at least a second', () => {
    const rate = new ArrivalRate(10_000);
    rate.note(1000);
    expect(rate.perSecond(1000)).toBe(1);
  });
});

describe('warmTarget', () => {
  const bounds = { min: 1, max: 4 };
  test('rate × warm-up time, rounded up', () => {
    expect(warmTarget(bounds, 2, 1.2)).toBe(3);
    expect(warmTarget(bounds, 1, 1)).toBe(1);
  });
  test('never below the minimum nor above the maximum', () => {
    expect(warmTarget(bounds, 0, 1.2)).toBe(1);
    expect(warmTarget(bounds, 50, 1.2)).toBe(4);
    expect(warmTarget({ min: 0, max: 0 }, 5, 1)).toBe(0);
  });
});

test('follow moves a part of the way to each new value', () => {
  expect(follow(1, 2, 0.5)).toBe(1.5);
  expect(follow(1, 1)).toBe(1);
});
