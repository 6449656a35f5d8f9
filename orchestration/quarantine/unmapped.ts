// The unmapped-codes report (`npm run translation:report`, layer 3): which vendor and local codes
// no concept map covers, per source, with how many stored items carry each, and how many
// quarantined resources were flagged for an unmapped code of each system. Read-only.
//
// Stored items: an item flagged "kept unmapped" keeps its original coding among `codes`; the
// codings a map produced or translated are in its lineage (concept-map transformations, from and
// to), and standard ones need no map, so what is left is unmapped. Quarantined resources: their
// payloads are sealed (PHI) and stay sealed; the reasons name the code system only, so their codes
// are counted per system.
import type { Queryable } from '../../platform/db.ts';

export type UnmappedCode = {
  readonly source: string;
  /** '' when the coding had no system. */
  readonly system: string;
  /** null for quarantine counts, which know the system only. */
  readonly code: string | null;
  /** Stored items carrying it. */
  readonly stored: number;
  /** Quarantined resources flagged for an unmapped code of this system. */
  readonly quarantined: number;
};

/** Messages of translation/terminology/translate.ts that end in this when a coding stays unmapped. */
const UNMAPPED = '%kept unmapped';
const SYSTEM_IN_MESSAGE = '^code of (.+) is (?:in no concept map|mapped, but not into .*); kept unmapped$';
const NO_SYSTEM = 'coding has no system; kept unmapped';

/** Splits `system|code` at its first bar (systems are URIs; codes may hold bars, SNOMED CT expressions do). */
function splitToken(token: string): { system: string; code: string } {
  const bar = token.indexOf('|');
  return bar < 0 ? { system: '', code: token } : { system: token.slice(0, bar), code: token.slice(bar + 1) };
}

/**
 * Every unmapped code, sorted by source then most frequent first. `standardSystems` are those
 * needing no map (translation's Terminology.standardSystems: the standards and every map target).
 */
export async function unmappedCodes(db: Queryable, standardSystems: ReadonlySet<string>): Promise<UnmappedCode[]> {
  const stored = (
    await db.query<{ source: string; token: string; n: string }>(
      `SELECT i.source, c AS token, count(*)::text AS n
       FROM clinical_item i CROSS JOIN LATERAL unnest(i.codes) AS c
       WHERE EXISTS (SELECT 1 FROM jsonb_array_elements(i.flags) f WHERE f->>'message' LIKE $1)
         AND NOT EXISTS (
           SELECT 1 FROM jsonb_array_elements(i.lineage->'transformations') t
           WHERE t->>'kind' = 'concept-map' AND (t->>'from' = c OR t->>'to' = c))
       GROUP BY 1, 2`,
      [UNMAPPED],
    )
  ).rows;
  const quarantined = (
    await db.query<{ source: string; system: string | null; n: string }>(
      `SELECT q.source,
              CASE WHEN m = $3 THEN '' ELSE substring(m from $2) END AS system,
              count(DISTINCT (q.resource_type, q.resource_id, q.payload_key))::text AS n
       FROM quarantine q CROSS JOIN LATERAL jsonb_array_elements(q.issues) AS i CROSS JOIN LATERAL (SELECT i->>'message' AS m) x
       WHERE m LIKE $1
       GROUP BY 1, 2`,
      [UNMAPPED, SYSTEM_IN_MESSAGE, NO_SYSTEM],
    )
  ).rows;
  const rows = new Map<string, { -readonly [K in keyof UnmappedCode]: UnmappedCode[K] }>();
  for (const r of stored) {
    const { system, code } = splitToken(r.token);
    if (standardSystems.has(system)) continue;
    rows.set(JSON.stringify([r.source, system, code]), { source: r.source, system, code, stored: Number(r.n), quarantined: 0 });
  }
  for (const r of quarantined) {
    const system = r.system ?? '(a system the reason does not name)';
    rows.set(JSON.stringify([r.source, system, null]), { source: r.source, system, code: null, stored: 0, quarantined: Number(r.n) });
  }
  return [...rows.values()].sort(
    (a, b) =>
      a.source.localeCompare(b.source) ||
      b.stored + b.quarantined - (a.stored + a.quarantined) ||
      a.system.localeCompare(b.system) ||
      Number(a.code === null) - Number(b.code === null) ||
      (a.code ?? '').localeCompare(b.code ?? ''),
  );
}
