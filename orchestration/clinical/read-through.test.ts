// A clinical batch whose search returns invalid resources the source's id cannot tell apart
// (issue 12, finding 8): two Observations without an id and two under one id, beside valid ones,
// for one patient of a batch of several. Every patient of the batch gets their list, every invalid
// resource is quarantined with its reason, and reading again adds no quarantine row.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openCache } from '../../platform/cache.ts';
import { loadVendorProfile } from '../../platform/config.ts';
import type { FhirObservation } from '../../simulators/fhir-types.ts';
import { fhirSource, quarantineRows, type FhirSource } from '../../test/support/fhir-source.ts';
import { uniqueSchema } from '../../test/support/env.ts';
import { NO_ID } from '../../translation/quarantine.ts';
import { clinicalLoader, type ClinicalList } from './live-source.ts';

let source: FhirSource;
let patients: string[];
const own = (id: string) => source.data.resources.Observation.filter((o) => o.subject.reference === `Patient/${id}`).length;

before(async () => {
  source = await fhirSource({
    size: 12,
    shape: (data) => {
      const subject = { reference: `Patient/${data.patients[0]!.id}` };
      const bad = (n: number, id?: string) =>
        ({
          resourceType: 'Observation',
          ...(id ? { id } : {}),
          meta: { lastUpdated: '2024-01-01T00:00:00Z' },
          status: 'final',
          subject,
          // Only a vendor-local coding: refused (no standard coding).
          code: { coding: [{ system: 'urn:oid:1.2.840.114350.1.13.0.1.7.2.768282', code: `99${n}` }] },
          effectiveDateTime: `2024-03-0${n}T09:05:00-06:00`,
        }) as unknown as FhirObservation;
      return {
        ...data,
        resources: {
          ...data.resources,
          Observation: [bad(1), bad(2), bad(3, 'dup-obs'), bad(4, 'dup-obs'), ...data.resources.Observation],
        },
      };
    },
  });
  patients = source.data.patients.map((p) => p.id);
});
after(() => source?.close());

const read = async (): Promise<(ClinicalList | Error)[]> => {
  const deps = {
    db: source.db,
    sealPayload: source.protection.sealPayload,
    profile: loadVendorProfile('epic'),
    cache: openCache({ prefix: uniqueSchema('c') }),
    cacheTtlSeconds: 0,
  };
  return clinicalLoader(deps, { config: source.config, client: source.client }, 'Observation').loadMany(patients);
};

test('every patient of the batch gets their list; every invalid resource is quarantined with its reason', async () => {
  const lists = await read();
  lists.forEach((list, i) => {
    assert.ok(!(list instanceof Error), `patient ${i}: ${String(list)}`);
    assert.equal(list.values.length, own(patients[i]!) - (i === 0 ? 4 : 0), `patient ${i}: every valid observation`);
  });
  const rows = await quarantineRows(source.db, 'sim-epic');
  assert.deepEqual(
    rows.map((r) => [r.resource_type, r.resource_id]),
    [
      ['Observation', NO_ID],
      ['Observation', NO_ID],
      ['Observation', 'dup-obs'],
      ['Observation', 'dup-obs'],
    ],
  );
  for (const r of rows) {
    const reasons = r.issues.filter((i) => i.severity === 'error').map((i) => i.message);
    assert.deepEqual(
      reasons,
      r.resource_id === NO_ID ? ['missing id', 'no standard (non vendor-local) coding'] : ['no standard (non vendor-local) coding'],
    );
  }
});

test('reading again (no cache) adds no quarantine row', async () => {
  const rows = await quarantineRows(source.db, 'sim-epic');
  const lists = await read();
  assert.ok(lists.every((l) => !(l instanceof Error)));
  const identity = (r: (typeof rows)[number]) => [r.resource_type, r.resource_id, r.payload_key, r.first_seen_at.toISOString()];
  assert.deepEqual((await quarantineRows(source.db, 'sim-epic')).map(identity), rows.map(identity));
});
