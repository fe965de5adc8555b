import type { SandboxKind } from './sandbox-kinds';

/** What a request asks of the sandbox its runs get (`options.resources`); every field is optional. */
export interface ResourceRequirement {
  /** Cores. */
  cpu?: number;
  /** Memory of the code's process, MiB. */
  memoryMb?: number;
  /** What the code may write to its workspace, MiB. */
  diskMb?: number;
  /** Wall time of each sandbox run, in place of `stepTimeoutMs`. */
  timeoutMs?: number;
  /** Temporal task priority key: 1 goes first, 5 last; 3 when absent. */
  priority?: number;
}

/** The most a request may ask for in this deployment (SANDBOX_MAX_*). */
export interface ResourceMaxima {
  cpu: number;
  memoryMb: number;
  diskMb: number;
  timeoutMs: number;
}

/** The sized fields of a requirement, those a backend has to honour. */
export type SizedResource = keyof ResourceMaxima;

/** Temporal's default range of priority keys (1 highest, 5 lowest). */
export const PRIORITY_KEYS = { highest: 1, lowest: 5 } as const;

/**
 * Why a backend cannot honour a field, or null where it applies it. Kept beside the backends' code
 * in spirit, but here, because the gateway (which never loads sandbox code) refuses by it.
 */
export const BACKEND_LIMITATIONS: { readonly [K in SandboxKind]: Readonly<Record<SizedResource, string | null>> } = {
  local: {
    cpu:
      'the local sandbox cannot give or cap a number of cores: it limits CPU time only (and the code could ' +
      'undo a pinning to cores); leave resources.cpu out',
    memoryMb: null,
    diskMb: null,
    timeoutMs: null,
  },
  e2b: {
    cpu: "an E2B sandbox has its template's cores (E2B_TEMPLATE); they cannot be set per run",
    memoryMb: "an E2B sandbox has its template's memory (E2B_TEMPLATE); it cannot be set per run",
    diskMb: "an E2B sandbox has its template's disk (E2B_TEMPLATE); it cannot be set per run",
    timeoutMs: null,
  },
};

/** One reason a requirement is refused: the field, and whether it is past the maximum or unsupported. */
export interface ResourceProblem {
  field: SizedResource;
  reason: 'above_maximum' | 'not_supported';
  message: string;
}

const SIZED: readonly SizedResource[] = ['cpu', 'memoryMb', 'diskMb', 'timeoutMs'];

const UNITS: Record<SizedResource, string> = { cpu: 'cores', memoryMb: 'MiB', diskMb: 'MiB', timeoutMs: 'ms' };

/**
 * Every reason `requirement` cannot be given on `backend` under `maxima`: a field past its maximum,
 * and a field the backend cannot apply. Empty when the requirement can be honoured as asked.
 */
export function resourceProblems(
  requirement: ResourceRequirement,
  maxima: ResourceMaxima,
  backend: SandboxKind,
): ResourceProblem[] {
  const problems: ResourceProblem[] = [];
  for (const field of SIZED) {
    const asked = requirement[field];
    if (asked === undefined) continue;
    if (asked > maxima[field]) {
      problems.push({
        field,
        reason: 'above_maximum',
        message: `resources.${field} is ${asked} ${UNITS[field]}, above this deployment's maximum of ${maxima[field]}`,
      });
    }
    const limitation = BACKEND_LIMITATIONS[backend][field];
    if (limitation !== null) {
      problems.push({
        field,
        reason: 'not_supported',
        message: `resources.${field} cannot be honoured: ${limitation}`,
      });
    }
  }
  return problems;
}

/**
 * CPU time over wall time times the cores given: near 1 for code that keeps every core busy, near 0
 * for code that waits. Null for a run that took no measurable time.
 */
export function efficiency(cpuMs: number, wallMs: number, cores: number): number | null {
  if (wallMs <= 0 || cores <= 0) return null;
  return cpuMs / (wallMs * cores);
}

/** The allocation id of a step's sandbox run: unique in the execution, the same on replay. */
export function allocationId(executionId: string, stepId: string, attempt: number): string {
  return `${executionId}/${stepId}/${attempt}`;
}
