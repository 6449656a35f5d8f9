// Watermarks and connection health (migrations.ts): small reads and writes, no PHI.
import type { Queryable } from '../../platform/db.ts';
import type { FhirResource } from '../../protocol/fhir/client.ts';

type Meta = { readonly versionId?: unknown; readonly lastUpdated?: unknown };
const metaOf = (r: FhirResource): Meta => (r.meta && typeof r.meta === 'object' ? (r.meta as Meta) : {});

/** The resource's lastUpdated in ms, or undefined when absent or unreadable. */
export function lastUpdatedOf(r: FhirResource): number | undefined {
  const raw = metaOf(r).lastUpdated;
  const t = typeof raw === 'string' ? Date.parse(raw) : NaN;
  return Number.isNaN(t) ? undefined : t;
}

/** Keeps, per resource type, the newest lastUpdated of the resources seen. */
export function noteNewest(newest: Record<string, number>, resources: readonly FhirResource[]): void {
  for (const r of resources) {
    const t = lastUpdatedOf(r);
    if (t !== undefined && !(newest[r.resourceType]! >= t)) newest[r.resourceType] = t;
  }
}

/**
 * After the initial load (the first sync, set-based), the watermarks it reached: the newest
 * lastUpdated of each type it read. Later changes then come through the inbox.
 */
export async function recordLoadWatermarks(db: Queryable, source: string, newest: Readonly<Record<string, number>>): Promise<void> {
  for (const [type, t] of Object.entries(newest)) await advanceWatermark(db, source, type, new Date(t));
}

/** The watermark of each resource type of one connection (absent: never synced). */
export async function watermarks(db: Queryable, connectionId: string): Promise<Map<string, Date>> {
  const r = await db.query<{ resource_type: string; watermark: Date }>(
    'SELECT resource_type, watermark FROM sync_watermark WHERE connection_id = $1',
    [connectionId],
  );
  return new Map(r.rows.map((x) => [x.resource_type, new Date(x.watermark)]));
}

/**
 * Moves a watermark forward (never back: a slower process finishing an older poll cannot undo a
 * newer one's progress). Call it only once what it covers is committed to the inbox.
 */
export async function advanceWatermark(db: Queryable, connectionId: string, resourceType: string, watermark: Date): Promise<void> {
  await db.query(
    `INSERT INTO sync_watermark (connection_id, resource_type, watermark) VALUES ($1, $2, $3)
     ON CONFLICT (connection_id, resource_type) DO UPDATE SET watermark = EXCLUDED.watermark, updated_at = now()
     WHERE sync_watermark.watermark < EXCLUDED.watermark`,
    [connectionId, resourceType, watermark],
  );
}

export type ConnectionHealth = {
  readonly connectionId: string;
  readonly breakerState: 'closed' | 'open' | 'half-open';
  readonly breakerSince: Date;
  readonly lastSuccessAt: Date | null;
  readonly lastErrorAt: Date | null;
  readonly lastErrorCode: string | null;
  readonly lastSyncAt: Date | null;
  readonly fhirVersion: string | null;
  readonly softwareName: string | null;
  readonly softwareVersion: string | null;
  readonly capabilityCheckedAt: Date | null;
  /** When the last reconciliation pass completed (applied, or refused with a warning). */
  readonly reconciledAt: Date | null;
  /** Delete events the last completed pass sent. */
  readonly reconcileDeletions: number | null;
  /** Why the last pass was refused (no PHI: counts and types); null once a pass applies again. */
  readonly reconcileWarning: string | null;
  readonly reconcileWarningAt: Date | null;
};

/** What changed; only the given fields are written. */
export type HealthUpdate = Partial<Omit<ConnectionHealth, 'connectionId'>>;

const COLUMNS = {
  breakerState: 'breaker_state',
  breakerSince: 'breaker_since',
  lastSuccessAt: 'last_success_at',
  lastErrorAt: 'last_error_at',
  lastErrorCode: 'last_error_code',
  lastSyncAt: 'last_sync_at',
  fhirVersion: 'fhir_version',
  softwareName: 'software_name',
  softwareVersion: 'software_version',
  capabilityCheckedAt: 'capability_checked_at',
  reconciledAt: 'reconciled_at',
  reconcileDeletions: 'reconcile_deletions',
  reconcileWarning: 'reconcile_warning',
  reconcileWarningAt: 'reconcile_warning_at',
} as const satisfies Record<keyof HealthUpdate, string>;

export async function recordHealth(db: Queryable, connectionId: string, update: HealthUpdate): Promise<void> {
  // undefined: left as it is; null: cleared (a warning a later pass no longer raises).
  const entries = (Object.keys(COLUMNS) as (keyof HealthUpdate)[]).filter((k) => update[k] !== undefined);
  const columns = entries.map((k) => COLUMNS[k]);
  const values = entries.map((k) => update[k]);
  const sets = columns.map((c) => `${c} = EXCLUDED.${c}`).concat('updated_at = now()');
  await db.query(
    `INSERT INTO connection_health (connection_id${columns.map((c) => `, ${c}`).join('')})
     VALUES ($1${columns.map((_, i) => `, $${i + 2}`).join('')})
     ON CONFLICT (connection_id) DO UPDATE SET ${sets.join(', ')}`,
    [connectionId, ...values],
  );
}

type HealthRow = {
  connection_id: string;
  breaker_state: ConnectionHealth['breakerState'];
  breaker_since: Date;
  last_success_at: Date | null;
  last_error_at: Date | null;
  last_error_code: string | null;
  last_sync_at: Date | null;
  fhir_version: string | null;
  software_name: string | null;
  software_version: string | null;
  capability_checked_at: Date | null;
  reconciled_at: Date | null;
  reconcile_deletions: number | null;
  reconcile_warning: string | null;
  reconcile_warning_at: Date | null;
};

const date = (d: Date | null): Date | null => (d === null ? null : new Date(d));

export async function connectionHealth(db: Queryable, connectionIds: readonly string[]): Promise<Map<string, ConnectionHealth>> {
  const r = await db.query<HealthRow>('SELECT * FROM connection_health WHERE connection_id = ANY($1::text[])', [connectionIds]);
  return new Map(
    r.rows.map((x) => [
      x.connection_id,
      {
        connectionId: x.connection_id,
        breakerState: x.breaker_state,
        breakerSince: new Date(x.breaker_since),
        lastSuccessAt: date(x.last_success_at),
        lastErrorAt: date(x.last_error_at),
        lastErrorCode: x.last_error_code,
        lastSyncAt: date(x.last_sync_at),
        fhirVersion: x.fhir_version,
        softwareName: x.software_name,
        softwareVersion: x.software_version,
        capabilityCheckedAt: date(x.capability_checked_at),
        reconciledAt: date(x.reconciled_at),
        reconcileDeletions: x.reconcile_deletions,
        reconcileWarning: x.reconcile_warning,
        reconcileWarningAt: date(x.reconcile_warning_at),
      },
    ]),
  );
}
