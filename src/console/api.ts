import type { ScheduleView as Schedule } from '../cli/views';
import type { ExecutionSnapshot } from '../domain/types';

/** An answer of the gateway that is not a success, with the contract's error shape. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export interface Session {
  required: boolean;
  tenant: string;
  scopes: string[];
  operator: boolean;
  keyId: string;
  expiresAt: string | null;
  csrfToken: string | null;
}

export interface ExecutionSummary {
  id: string;
  status: ExecutionSnapshot['status'];
  task: string | null;
  kind: string;
  triggeredBy: string;
  createdAt: string;
  completedAt: string | null;
  namedTask?: { slug: string; version: number } | null;
  links: Record<string, string>;
}

export interface Health {
  ok: boolean;
  temporal: 'up' | 'down';
  worker: 'up' | 'down' | 'unknown';
}

export type Snapshot = ExecutionSnapshot & {
  links: { self: string; events: string; temporalUi: string };
};

let csrfToken: string | null = null;
/** Called whenever the gateway states the session's CSRF token: at sign-in and when it renews it. */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** What a page does when the session ends under it (the gateway answers 401). */
let onSignedOut: () => void = () => undefined;
export function whenSignedOut(handler: () => void): void {
  onSignedOut = handler;
}

/**
 * A request to the gateway, with the session cookie (same origin) and, for a change, the CSRF token.
 * A failure of the network is an ApiError with status 0, so that a page can say so.
 */
export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (method !== 'GET' && csrfToken !== null) headers['x-csrf-token'] = csrfToken;
  let payload: BodyInit | undefined;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let response: Response;
  try {
    response = await fetch(path, { method, headers, body: payload, credentials: 'same-origin' });
  } catch {
    throw new ApiError(0, 'GATEWAY_UNREACHABLE', 'The gateway cannot be reached. Check the connection and try again.');
  }
  const renewed = response.headers.get('x-csrf-token');
  if (renewed !== null) csrfToken = renewed;
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let json: unknown = null;
  try {
    json = text === '' ? null : JSON.parse(text);
  } catch {
    json = null;
  }
  if (!response.ok) {
    const error = (json as { error?: { code?: string; message?: string; details?: unknown } } | null)?.error;
    if (response.status === 401 && path !== '/api/session') onSignedOut();
    throw new ApiError(
      response.status,
      error?.code ?? 'HTTP_' + response.status,
      error?.message ?? `The gateway answered ${response.status}.`,
      error?.details,
    );
  }
  return json as T;
}

export const api = {
  session: () => request<Session>('GET', '/api/session'),
  signIn: (key: string) => request<Session>('POST', '/api/session', { key }),
  signOut: () => request<void>('DELETE', '/api/session'),
  health: () => request<Health>('GET', '/healthz'),
  list: (query: URLSearchParams) =>
    request<{ executions: ExecutionSummary[]; nextPageToken: string | null }>('GET', `/api/executions?${query}`),
  get: (id: string) => request<Snapshot>('GET', `/api/executions/${encodeURIComponent(id)}`),
  start: (form: FormData) => request<{ id: string }>('POST', '/api/executions', form),
  control: (id: string, action: 'pause' | 'resume' | 'cancel', reason?: string) =>
    request<unknown>('POST', `/api/executions/${encodeURIComponent(id)}/${action}`, reason ? { reason } : {}),
  input: (id: string, body: { approve?: boolean; input?: unknown }) =>
    request<unknown>('POST', `/api/executions/${encodeURIComponent(id)}/input`, body),
  retry: (id: string, fromStep: string, code?: string) =>
    request<{ id: string }>('POST', `/api/executions/${encodeURIComponent(id)}/retry`, {
      fromStep,
      ...(code === undefined ? {} : { code }),
    }),
};

/** The words a person reads for an error of the gateway, with what to do about it. */
export function describeError(error: unknown): string {
  if (!(error instanceof ApiError)) return error instanceof Error ? error.message : String(error);
  switch (error.code) {
    case 'TEMPORAL_UNAVAILABLE':
      return 'Temporal cannot be reached, so nothing can be read or started right now. The console retries by itself.';
    case 'WORKER_UNAVAILABLE':
      return 'No worker is polling the task queue: the request cannot be carried out until one runs.';
    case 'ARTIFACT_STORE_UNAVAILABLE':
      return 'The file store cannot be reached; files will show again once it is back.';
    default:
      return error.message;
  }
}

export interface Parameter {
  type: 'string' | 'number' | 'integer' | 'boolean';
  description?: string;
  enum?: Array<string | number | boolean>;
  default?: string | number | boolean;
}

export interface Task {
  slug: string;
  version: number;
  title: string;
  description: string;
  parameters: { type?: 'object'; properties: Record<string, Parameter>; required: string[] };
  code: string | null;
  plan: unknown;
  options: Record<string, unknown> | null;
  files: Array<{ name: string; size: number }>;
  createdAt: string;
  versions?: Array<{ version: number; createdAt: string }>;
}

export interface TaskBody {
  slug?: string;
  title: string;
  description: string;
  parameters?: Task['parameters'];
  code?: string;
}

/** The CLI reads the same answer: one description of it for both clients. */
export type { ScheduleView as Schedule } from '../cli/views';

export interface Hook {
  id: string;
  slug: string;
  url: string;
  secret?: string;
  mapping?: Record<string, string> | null;
  createdAt: string;
}

export interface ApiKey {
  id: string;
  tenant: string;
  name: string;
  scopes: string[];
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
  secret?: string;
}

export interface Subscription {
  id: string;
  url: string;
  events: string[];
  executionId: string | null;
  createdAt: string;
  secret?: string;
}

export interface Delivery {
  deliveryId: string;
  event: string;
  executionId: string;
  attempt: number;
  outcome: 'delivered' | 'failed';
  responseStatus: number | null;
  error: string | null;
  durationMs: number;
  at: string;
}

const slugPath = (slug: string) => `/api/tasks/${encodeURIComponent(slug)}`;

export const tasksApi = {
  list: () => request<{ tasks: Task[] }>('GET', '/api/tasks'),
  get: (slug: string, version?: number) =>
    request<Task>('GET', `${slugPath(slug)}${version === undefined ? '' : `?version=${version}`}`),
  create: (body: TaskBody) => request<Task>('POST', '/api/tasks', body),
  update: (slug: string, body: TaskBody) => request<Task>('PUT', slugPath(slug), body),
  remove: (slug: string) => request<void>('DELETE', slugPath(slug)),
  run: (slug: string, inputs: Record<string, unknown>, version?: number) =>
    request<{ id: string }>('POST', `${slugPath(slug)}/runs`, {
      inputs,
      triggeredBy: 'user',
      ...(version === undefined ? {} : { version }),
    }),
  schedules: (slug: string) => request<{ schedules: Schedule[] }>('GET', `${slugPath(slug)}/schedules`),
  schedule: (slug: string, body: Record<string, unknown>) =>
    request<Schedule>('POST', `${slugPath(slug)}/schedules`, body),
  pauseSchedule: (slug: string, id: string, paused: boolean) =>
    request<Schedule>('PATCH', `${slugPath(slug)}/schedules/${encodeURIComponent(id)}`, { paused }),
  triggerSchedule: (slug: string, id: string) =>
    request<unknown>('POST', `${slugPath(slug)}/schedules/${encodeURIComponent(id)}/trigger`, {}),
  deleteSchedule: (slug: string, id: string) =>
    request<void>('DELETE', `${slugPath(slug)}/schedules/${encodeURIComponent(id)}`),
  hooks: (slug: string) => request<{ hooks: Hook[] }>('GET', `${slugPath(slug)}/hooks`),
  createHook: (slug: string) => request<Hook>('POST', `${slugPath(slug)}/hooks`, {}),
  rotateHook: (slug: string, id: string) =>
    request<Hook>('POST', `${slugPath(slug)}/hooks/${encodeURIComponent(id)}/rotate`, {}),
  deleteHook: (slug: string, id: string) =>
    request<void>('DELETE', `${slugPath(slug)}/hooks/${encodeURIComponent(id)}`),
};

export const adminApi = {
  keys: () => request<{ keys: ApiKey[] }>('GET', '/api/keys'),
  createKey: (body: { name: string; scopes: string[]; expiresAt?: string }) =>
    request<ApiKey>('POST', '/api/keys', body),
  revokeKey: (id: string) => request<void>('DELETE', `/api/keys/${encodeURIComponent(id)}`),
  subscriptions: () => request<{ subscriptions: Subscription[] }>('GET', '/api/subscriptions'),
  subscribe: (body: { url: string; events?: string[] }) => request<Subscription>('POST', '/api/subscriptions', body),
  unsubscribe: (id: string) => request<void>('DELETE', `/api/subscriptions/${encodeURIComponent(id)}`),
  deliveries: (id: string) =>
    request<{ deliveries: Delivery[] }>('GET', `/api/subscriptions/${encodeURIComponent(id)}/deliveries`),
};
