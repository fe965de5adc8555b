/**
 * The service's own records. Never execution state: executions live in Temporal. Times are ISO
 * strings, so both SQLite and PostgreSQL store and compare them the same way.
 */
export interface Database {
  tenants: TenantsTable;
  api_keys: ApiKeysTable;
  tasks: TasksTable;
  hooks: HooksTable;
  hook_signatures: HookSignaturesTable;
  schedules: SchedulesTable;
  subscriptions: SubscriptionsTable;
  deliveries: DeliveriesTable;
  recovery_strategies: RecoveryStrategiesTable;
  alert_defaults: AlertDefaultsTable;
}

/**
 * Where a tenant's execution events are sent: every execution of the tenant, or one execution's
 * (`options.notify`). The secret is kept as it is: it signs each delivery.
 */
export interface SubscriptionsTable {
  id: string;
  tenant_id: string;
  url: string;
  /** Comma-separated: status, awaiting_input, completed. */
  events: string;
  secret: string;
  /** Set for the subscription of one execution's `options.notify`. */
  execution_id: string | null;
  created_at: string;
  deleted_at: string | null;
}

/** One attempt to deliver an event to a subscription, and its answer. */
export interface DeliveriesTable {
  id: string;
  subscription_id: string;
  /** The same on every attempt of one event to one subscription: receivers de-duplicate by it. */
  delivery_id: string;
  event: string;
  execution_id: string;
  attempt: number;
  /** delivered or failed. */
  outcome: string;
  response_status: number | null;
  /** The start of the receiver's answer. */
  response_body: string | null;
  error: string | null;
  duration_ms: number;
  at: string;
}

/**
 * A schedule of a named task. Its timing and state live in the Temporal Schedule of the same id;
 * this row says whose it is and what it runs.
 */
export interface SchedulesTable {
  id: string;
  tenant_id: string;
  slug: string;
  /** The pinned version, or null for the latest at each run. */
  version: number | null;
  /** JSON object: the inputs of every run. */
  inputs: string;
  /** JSON `{cron}` or `{every}` with `timezone`, as the caller gave it (Temporal keeps a compiled form). */
  spec: string;
  /** skip, buffer_one, allow_all or cancel_other. */
  overlap: string;
  created_at: string;
}

/**
 * An inbound webhook of a named task. The secret is kept as it is (an HMAC needs it to check a
 * signature); after a rotation the previous one stays valid until `previous_until`.
 */
export interface HooksTable {
  id: string;
  tenant_id: string;
  slug: string;
  secret: string;
  previous_secret: string | null;
  previous_until: string | null;
  /** JSON `{parameter: "dotted.path.in.body"}`, or null: the body's fields by name. */
  mapping: string | null;
  created_at: string;
  deleted_at: string | null;
}

/** Signatures already accepted, so a replayed delivery is refused. Older than the window are pruned. */
export interface HookSignaturesTable {
  hook_id: string;
  signature: string;
  seen_at: string;
}

/** One version of a named task; every save makes a new version. JSON columns are text. */
export interface TasksTable {
  tenant_id: string;
  slug: string;
  version: number;
  title: string;
  description: string;
  parameters: string;
  code: string | null;
  plan: string | null;
  options: string | null;
  /** The task's default files: `[{name, key, size, sha256, contentType}]` in the artifact store. */
  files: string;
  created_at: string;
  deleted_at: string | null;
}

export interface TenantsTable {
  id: string;
  created_at: string;
}

export interface ApiKeysTable {
  id: string;
  tenant_id: string;
  name: string;
  /** Comma-separated scopes: read, run, admin. */
  scopes: string;
  /** SHA-256 of the secret, hex; the secret itself is shown once and never stored. */
  secret_hash: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
}

/** A recovery strategy a tenant registered: its definition as JSON, consulted by its executions. */
export interface RecoveryStrategiesTable {
  tenant_id: string;
  id: string;
  definition: string;
  created_at: string;
}

/** The alert conditions every execution of a tenant watches from its start (a JSON array). */
export interface AlertDefaultsTable {
  tenant_id: string;
  conditions: string;
  updated_at: string;
}
