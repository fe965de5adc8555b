import { allocationId, efficiency, resourceProblems } from './resources';

const MAXIMA = { cpu: 4, memoryMb: 2048, diskMb: 512, timeoutMs: 3_600_000 };

describe('resource requirements', () => {
  test('nothing asked, or what the local sandbox applies within the maxima, has no problems', () => {
    expect(resourceProblems({}, MAXIMA, 'local')).toEqual([]);
    expect(
      resourceProblems({ memoryMb: 2048, diskMb: 512, timeoutMs: 3_600_000, priority: 1 }, MAXIMA, 'local'),
    ).toEqual([]);
    expect(resourceProblems({ timeoutMs: 1000, priority: 5 }, MAXIMA, 'e2b')).toEqual([]);
  });

  test('each field past its maximum is named with the maximum', () => {
    const problems = resourceProblems({ memoryMb: 4096, diskMb: 513, timeoutMs: 3_600_001 }, MAXIMA, 'local');
    expect(problems.map((problem) => [problem.field, problem.reason])).toEqual([
      ['memoryMb', 'above_maximum'],
      ['diskMb', 'above_maximum'],
      ['timeoutMs', 'above_maximum'],
    ]);
    expect(problems[0].message).toBe("resources.memoryMb is 4096 MiB, above this deployment's maximum of 2048");
  });

  test('a core count is refused on the local sandbox, which limits CPU time only', () => {
    const [problem] = resourceProblems({ cpu: 1 }, MAXIMA, 'local');
    expect(problem).toMatchObject({ field: 'cpu', reason: 'not_supported' });
    expect(problem.message).toMatch(/^resources\.cpu cannot be honoured: .*limits CPU time only/);
  });

  test('E2B refuses what its template fixes, and a field can be both too large and unsupported', () => {
    const problems = resourceProblems({ cpu: 8, memoryMb: 1024, diskMb: 100 }, MAXIMA, 'e2b');
    expect(problems.map((problem) => [problem.field, problem.reason])).toEqual([
      ['cpu', 'above_maximum'],
      ['cpu', 'not_supported'],
      ['memoryMb', 'not_supported'],
      ['diskMb', 'not_supported'],
    ]);
    expect(problems[2].message).toMatch(/template/);
  });

  test('efficiency is CPU time over wall time times the cores given', () => {
    expect(efficiency(500, 1000, 1)).toBe(0.5);
    expect(efficiency(1000, 1000, 2)).toBe(0.5);
    expect(efficiency(10, 0, 1)).toBeNull();
  });

  test('allocation ids are unique per execution, step and attempt', () => {
    expect(allocationId('exec-1', 'main', 2)).toBe('exec-1/main/2');
    expect(allocationId('exec-1', 'main', 2)).not.toBe(allocationId('exec-1', 'main', 3));
  });
});
