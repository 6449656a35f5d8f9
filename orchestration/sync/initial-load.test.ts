// The initial load against a simulated EHR whose first page holds invalid resources that the
// source's id cannot tell apart (issue 12, finding 8): two Patients without an id and two
// entries under one id. Every one is quarantined with its reasons, every valid patient is linked
// (the second page too), and loading again adds no row anywhere and rewrites none.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadVendorProfile } from '../../platform/config.ts';
import type { FhirPatient } from '../../simulators/fhir-types.ts';
import { fhirSource, quarantineRows, type FhirSource } from '../../test/support/fhir-source.ts';
import { NO_ID } from '../../translation/quarantine.ts';
import { loadSource } from './initial-load.ts';

const META = { lastUpdated: '2024-01-01T00:00:00Z' };
/** Synthetic and obviously so; each differs from the other in content only. */
const BAD = [
  { resourceType: 'Patient', meta: META, identifier: [], name: [{ family: 'Testcase', given: ['Noid'] }], birthDate: '1970-01-01' },
  { resourceType: 'Patient', meta: META, identifier: [], name: [{ family: 'Testcase', given: ['Noid'] }], birthDate: '1970-01-02' },
  { resourceType: 'Basic', id: 'dup-1', meta: META, identifier: [], code: { text: 'first of two under one id' } },
  { resourceType: 'Basic', id: 'dup-1', meta: META, identifier: [], code: { text: 'second of two under one id' } },
];

let source: FhirSource;
let valid: number;
before(async () => {
  // More than one page of 200, the invalid resources first: a failure on page one would lose page two.
  source = await fhirSource({
    size: 205,
    shape: (data) => ({ ...data, patients: [...(BAD as unknown as FhirPatient[]), ...data.patients] }),
  });
  valid = source.data.patients.length - BAD.length;
  assert.ok(valid > 200);
});
after(() => source?.close());

const load = () =>
  loadSource(source.db, {
    connection: source.config,
    client: source.client,
    profile: loadVendorProfile('epic'),
    protection: source.protection,
  });
const count = async (table: string): Promise<number> =>
  Number((await source.db.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]!.n);

test('every invalid resource is quarantined with its reason, and every valid patient is linked', async () => {
  const report = await load();
  assert.equal(report.failed, undefined, `the load went through: ${report.failed}`);
  assert.deepEqual(
    { read: report.read, linked: report.linked, quarantined: report.quarantined },
    { read: valid + 4, linked: valid, quarantined: 4 },
  );
  assert.equal(await count('source_record'), valid);

  const rows = await quarantineRows(source.db, 'sim-epic');
  assert.deepEqual(
    rows.map((r) => [r.resource_type, r.resource_id]),
    [
      ['Patient', NO_ID],
      ['Patient', NO_ID],
      ['Patient', 'dup-1'],
      ['Patient', 'dup-1'],
    ],
  );
  // Each row holds its own resource, sealed, with the reason it was refused.
  const stored = rows.map((r) => source.protection.revealPayload(r.payload));
  assert.deepEqual(new Set(stored.map((p) => JSON.stringify(p))), new Set(BAD.map((p) => JSON.stringify(p))));
  for (const r of rows) {
    assert.match(JSON.stringify(r.payload), /^\{"digest":"bidx:[^"]+","encrypted":"enc:v1:/, 'sealed; no content in clear');
    const reasons = r.issues.filter((i) => i.severity === 'error').map((i) => i.message);
    assert.deepEqual(reasons, r.resource_id === NO_ID ? ['missing id'] : ['expected Patient']);
  }
  assert.equal(new Set(rows.map((r) => r.payload_key)).size, 4, 'four distinct identities');
});

/** Every row of what linking writes, as it stands (xmin: a row rewritten with the same values still changes). */
const linkState = async () => ({
  records: (await source.db.query('SELECT source, source_patient_id, golden_id, link_state, xmin::text FROM source_record ORDER BY 1, 2'))
    .rows,
  goldens: (await source.db.query('SELECT id, status, xmin::text FROM golden_patient ORDER BY id')).rows,
  events: await count('link_event'),
  reviews: await count('review_item'),
});

test('loading again writes nothing new: same quarantine rows, same records, same golden patients', async () => {
  const rows = await quarantineRows(source.db, 'sim-epic');
  const golden = await count('golden_patient');
  const before = await linkState();
  const report = await load();
  assert.equal(report.failed, undefined);
  assert.deepEqual(
    { linked: report.linked, quarantined: report.quarantined, newGolden: report.newGolden },
    { linked: valid, quarantined: 4, newGolden: 0 },
  );
  const again = await quarantineRows(source.db, 'sim-epic');
  const identity = (r: (typeof rows)[number]) => [r.resource_type, r.resource_id, r.payload_key, r.first_seen_at.toISOString()];
  assert.deepEqual(again.map(identity), rows.map(identity));
  assert.equal(await count('quarantine'), 4);
  assert.equal(await count('source_record'), valid);
  assert.equal(await count('golden_patient'), golden);
  // Unchanged records are not decided again: no link event, no review item, no golden record
  // rewritten, every record where it was.
  assert.deepEqual(await linkState(), before);
});
