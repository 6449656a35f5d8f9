// A source merged two of its patient records (HL7 ADT^A40): what the merged-away record held now
// belongs to the survivor. Items keep their ids and versions; only whose they are changes, so the
// survivor's lists (and its golden record's merged view) show them, and running it again changes nothing.
import type { Queryable } from '../../platform/db.ts';

/** Moves one source's items of `from` to `to`; the number of items moved (0 the second time). */
export async function reassignSubject(db: Queryable, source: string, from: string, to: string): Promise<number> {
  if (from === to) return 0;
  const r = await db.query(
    `UPDATE clinical_item
     SET subject_id = $3,
       resource = CASE WHEN resource ? 'subject' THEN jsonb_set(resource, '{subject,reference}', to_jsonb('Patient/' || $3::text))
                       ELSE resource END
     WHERE source = $1 AND subject_id = $2
     RETURNING id`,
    [source, from, to],
  );
  return r.rows.length;
}
