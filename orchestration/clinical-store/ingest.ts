// Translate-and-store: the path every ingestion (FHIR read, HL7 v2, Bulk) ends in. Translation is
// layer 2's (toCanonicalItem); here a batch is stored and its refused resources quarantined in one
// transaction, so a resource is either stored whole or quarantined with its reasons, never half-loaded.
// A fixed number of statements a batch, whatever its size: one to skip versions already stored,
// quarantine's, the write's two, one release.
import type { Database } from '../../platform/db.ts';
import type { IdentifierProtection } from '../../security/identifier-protection.ts';
import { declaredVersion, toCanonicalItem, type CanonicalItem, type ItemContext } from '../../translation/fhir-r4/clinical-item.ts';
import { toOperationOutcome, type OperationOutcome } from '../../translation/outcome.ts';
import { quarantine, type QuarantineEntry } from '../../translation/quarantine.ts';
import { SOFTWARE_VERSION } from '../audit/audit-log.ts';
import { storeItems, type StoreReport } from './write.ts';

export type IngestContext = Omit<ItemContext, 'softwareVersion'> & { readonly softwareVersion?: string };

export type Refused = { readonly resourceType: string; readonly resourceId: string; readonly outcome: OperationOutcome };

export type IngestReport = StoreReport & { readonly quarantined: readonly Refused[] };

const field = (r: unknown, k: string): string => {
  const v = r && typeof r === 'object' ? (r as Record<string, unknown>)[k] : undefined;
  return typeof v === 'string' ? v : '';
};

/**
 * The resources whose declared version (versionId, lastUpdated) is the one stored: translating them
 * again would give an item the store leaves as it is (same version), so they are not translated
 * (unless marked deleted at the source: storing it again brings it back).
 * A re-read of an unchanged record then costs one indexed query, not a translation per resource.
 */
async function alreadyStored(db: Database, source: string, resources: readonly unknown[]): Promise<Set<unknown>> {
  const declared = resources.flatMap((r) => {
    const version = declaredVersion(r);
    const type = field(r, 'resourceType');
    const id = field(r, 'id');
    return version && type && id ? [{ r, t: type, i: id, v: version }] : [];
  });
  if (declared.length === 0) return new Set();
  const stored = await db.query<{ t: string; i: string; v: string }>(
    `SELECT c.resource_type AS t, c.resource_id AS i, c.version AS v
     FROM jsonb_to_recordset($1::jsonb) AS x(t text, i text, v text)
     JOIN clinical_item c ON c.source = $2 AND c.resource_type = x.t AND c.resource_id = x.i AND c.version = x.v
     WHERE c.deleted_at IS NULL`,
    [JSON.stringify(declared.map(({ t, i, v }) => ({ t, i, v }))), source],
  );
  const same = new Set(stored.rows.map((s) => JSON.stringify([s.t, s.i, s.v])));
  return new Set(declared.filter((d) => same.has(JSON.stringify([d.t, d.i, d.v]))).map((d) => d.r));
}

/** Translates, stores and quarantines one batch of one connection's resources. */
export async function ingestResources(
  db: Database,
  resources: readonly unknown[],
  ctx: IngestContext,
  protection: Pick<IdentifierProtection, 'seal' | 'sealPayload'>,
): Promise<IngestReport> {
  const context: ItemContext = { ...ctx, softwareVersion: ctx.softwareVersion ?? SOFTWARE_VERSION };
  const items: CanonicalItem[] = [];
  const refused: QuarantineEntry[] = [];
  const unchanged = await alreadyStored(db, ctx.source, resources);
  for (const resource of resources) {
    if (unchanged.has(resource)) continue;
    const t = toCanonicalItem(resource, context);
    if (t.ok) items.push(t.value);
    else
      refused.push({
        source: ctx.source,
        resourceType: field(resource, 'resourceType') || '(none)',
        resourceId: field(resource, 'id'),
        issues: t.issues,
        payload: resource,
      });
  }
  const stored = await db.transaction(async (tx) => {
    await quarantine(tx, refused, protection.sealPayload);
    const report = await storeItems(tx, items, protection);
    // A resource that loads now (a map or profile changed, a corrected version) leaves quarantine.
    if (items.length > 0)
      await tx.query(
        `DELETE FROM quarantine q USING jsonb_to_recordset($1::jsonb) AS x(t text, i text)
         WHERE q.source = $2 AND q.resource_type = x.t AND q.resource_id = x.i`,
        [JSON.stringify(items.map((i) => ({ t: i.resourceType, i: i.resourceId }))), ctx.source],
      );
    return report;
  });
  return {
    ...stored,
    unchanged: stored.unchanged + unchanged.size,
    quarantined: refused.map((r) => ({ resourceType: r.resourceType, resourceId: r.resourceId, outcome: toOperationOutcome(r.issues) })),
  };
}
