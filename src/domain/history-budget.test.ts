import { HISTORY_SOFT_BYTES, HISTORY_SOFT_EVENTS, historyPressure } from './history-budget';

describe('the history budget', () => {
  test('there is room below both soft limits, which sit below Temporal warning sizes', () => {
    expect(historyPressure({ length: HISTORY_SOFT_EVENTS - 1, bytes: HISTORY_SOFT_BYTES - 1 })).toBeNull();
    expect(HISTORY_SOFT_EVENTS).toBeLessThan(10_240);
    expect(HISTORY_SOFT_BYTES).toBeLessThan(10 * 1024 * 1024);
  });

  test('either limit reached stops new work, saying which and what to do', () => {
    expect(historyPressure({ length: HISTORY_SOFT_EVENTS, bytes: 0 })).toBe(
      "its history has 8000 events, near Temporal's limit; retry from this step to go on",
    );
    expect(historyPressure({ length: 10, bytes: HISTORY_SOFT_BYTES + 1 })).toBe(
      "its history has 6.0 MB, near Temporal's limit; retry from this step to go on",
    );
  });
});
