// Reads a source record's clinical data through the connection's FHIR API: one search per
// connection and resource type per GraphQL request (DataLoader batches every patient asked for
// into `patient=a,b,c`), a TTL cache in front, translation to canonical types behind, and
// invalid resources quarantined with their reasons.
import DataLoader from 'dataloader';
import { createHash } from 'node:crypto';
import type { ConnectionConfig, VendorProfile } from '../../platform/config.ts';
import type { TtlCache } from '../../platform/cache.ts';
import type { Database } from '../../platform/db.ts';
import type { FhirConnection, FhirResource } from '../../protocol/fhir/client.ts';
import { condition, medicationRequest, observation, subjectPatientId, type SourceContext } from '../../translation/fhir-r4/clinical.ts';
import { error, type Translated } from '../../translation/issues.ts';
import { quarantine, type QuarantineEntry } from '../../translation/quarantine.ts';

export const CLINICAL_TRANSLATORS = {
  Observation: observation,
  Condition: condition,
  MedicationRequest: medicationRequest,
} as const satisfies Record<string, (r: FhirResource, ctx: SourceContext) => Translated<unknown>>;

export type ClinicalType = keyof typeof CLINICAL_TRANSLATORS;

export type SourceConnection = { readonly config: ConnectionConfig; readonly client: FhirConnection };

export type ClinicalSourceDeps = {
  readonly db: Database;
  /** Seals quarantined payloads (they are PHI). */
  readonly sealPayload: (payload: unknown) => unknown;
  readonly profile: VendorProfile;
  readonly cache: TtlCache;
  readonly cacheTtlSeconds: number;
  /** Patients per FHIR search; bounded so the query string stays well under URL limits. */
  readonly maxPatientsPerSearch?: number;
};

/** Cache keys carry no identifiers in clear: a hash of the source, type and FHIR id. */
const cacheKey = (source: string, type: string, patientId: string): string =>
  `clinical:${createHash('sha256').update(`${source}\u0000${type}\u0000${patientId}`).digest('base64url').slice(0, 32)}`;

export function clinicalLoader(deps: ClinicalSourceDeps, connection: SourceConnection, type: ClinicalType): DataLoader<string, unknown[]> {
  const { config, client } = connection;
  return new DataLoader<string, unknown[]>(
    async (patientIds) => {
      const keys = patientIds.map((id) => cacheKey(config.id, type, id));
      const cached = await deps.cache.getMany(keys);
      const missing = patientIds.filter((_id, i) => cached[i] === undefined);
      const fetched = new Map<string, unknown[]>(missing.map((id) => [id, []]));
      if (missing.length > 0) {
        let resources: FhirResource[];
        try {
          resources = await client.searchAll(type, { patient: missing.join(','), _count: '200' });
        } catch (error) {
          // A SourceError is SOURCE_UNAVAILABLE for the patients not cached; anything else is internal.
          return patientIds.map((_id, i) => (cached[i] !== undefined ? (JSON.parse(cached[i]!) as unknown[]) : (error as Error)));
        }
        const ctx: SourceContext = {
          source: config.id,
          profile: deps.profile,
          timeZone: config.timeZone,
          retrievedAt: new Date().toISOString(),
        };
        const refused: QuarantineEntry[] = [];
        for (const resource of resources) {
          const t = CLINICAL_TRANSLATORS[type](resource, ctx);
          const owner = subjectPatientId(resource);
          if (t.ok && owner && fetched.has(owner)) fetched.get(owner)!.push(t.value);
          else {
            const issues = t.ok ? [...t.issues, error(`${type}.subject`, 'refers to a patient that was not searched for')] : t.issues;
            refused.push({ source: config.id, resourceType: type, resourceId: resource.id ?? '', issues, payload: resource });
          }
        }
        await Promise.all([
          quarantine(deps.db, refused, deps.sealPayload),
          deps.cache.setMany(
            [...fetched].map(([id, values]) => [cacheKey(config.id, type, id), JSON.stringify(values)] as const),
            deps.cacheTtlSeconds,
          ),
        ]);
      }
      return patientIds.map((id, i) => (cached[i] !== undefined ? (JSON.parse(cached[i]!) as unknown[]) : fetched.get(id)!));
    },
    { maxBatchSize: deps.maxPatientsPerSearch ?? 100 },
  );
}
