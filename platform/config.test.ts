import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DEVIATIONS,
  PROJECT_ROOT,
  fhirConnections,
  hl7Feeds,
  isHl7Feed,
  loadAdapters,
  loadConnections,
  loadIssuers,
  loadVendorProfile,
  localIdentifierSystems,
  substituteEnv,
  validateConnection,
  validateConnections,
  validateHl7Feed,
  type Hl7FeedConfig,
} from './config.ts';

test('the shipped configuration loads: adapters, connections, vendor profiles, no extra issuers', () => {
  const adapters = loadAdapters();
  assert.deepEqual(
    adapters.map((a) => a.name),
    ['epic', 'cerner', 'hl7v2'],
  );
  const connections = loadConnections(undefined, {});
  assert.deepEqual(
    connections.map((c) => c.adapter),
    ['epic', 'cerner', 'hl7v2'],
  );
  assert.deepEqual(
    fhirConnections(connections).map((c) => c.id),
    ['epic-main', 'cerner-main'],
  );
  assert.deepEqual(
    hl7Feeds(connections).map((c) => [c.id, c.facility.sendingFacility]),
    [['community-feed', 'COMMUNITY']],
  );
  for (const a of adapters) assert.equal(loadVendorProfile(a.profile).vendor, a.profile);
  assert.deepEqual(loadIssuers(), []);
});

test('environment substitution, with defaults and a clear error when unset', () => {
  assert.equal(substituteEnv('${A:-x}/${B}', { B: 'b' }), 'x/b');
  assert.equal(substituteEnv('${A:-x}', { A: 'a' }), 'a');
  assert.throws(() => substituteEnv('${MISSING}', {}), /MISSING/);
});

test('a connection is validated when loaded, not at its first query', () => {
  const base = {
    id: 'h1',
    adapter: 'epic',
    baseUrl: 'https://ehr.example/fhir/',
    clientId: 'c',
    scope: 's',
    timeZone: 'UTC',
    timeoutMs: 1000,
  };
  assert.equal(validateConnection(base).baseUrl, 'https://ehr.example/fhir');
  assert.throws(() => validateConnection({ ...base, id: 'Bad Id' }), /connection id/);
  assert.throws(() => validateConnection({ ...base, baseUrl: 'not a url' }));
  assert.throws(() => validateConnection({ ...base, clientId: '' }), /clientId/);
  assert.throws(() => validateConnection({ ...base, clinicalTtlSeconds: -1 }), /clinicalTtlSeconds/);
  assert.throws(() => validateConnection({ ...base, clinicalTtlSeconds: 1.5 }), /clinicalTtlSeconds/);
  assert.equal(validateConnection({ ...base, clinicalTtlSeconds: 0 }).clinicalTtlSeconds, 0);
  assert.throws(() => validateConnection({ ...base, identifierSystems: { MR: 'not a uri' } }), /identifierSystems\.MR must be a URI/);
  assert.throws(() => validateConnection({ ...base, identifierSystems: { SS: 'urn:x:y' } as never }), /SS is not a local identifier type/);
});

const hospital = (id: string, identifierSystems?: Record<string, string>) =>
  validateConnection({
    id,
    adapter: 'epic',
    baseUrl: `https://${id}.example/fhir`,
    clientId: 'c',
    scope: 's',
    timeZone: 'UTC',
    timeoutMs: 1000,
    ...(identifierSystems ? { identifierSystems } : {}),
  });

test('each connection has identifier systems of its own: configured, else derived from its id', () => {
  assert.deepEqual(localIdentifierSystems(hospital('epic-north')), {
    MR: 'urn:patient-gateway:connection:epic-north:mr',
    PI: 'urn:patient-gateway:connection:epic-north:pi',
  });
  assert.deepEqual(localIdentifierSystems(hospital('epic-north', { MR: 'urn:oid:1.2.3' })), {
    MR: 'urn:oid:1.2.3',
    PI: 'urn:patient-gateway:connection:epic-north:pi',
  });
  // Two hospitals of one vendor, neither configured: apart.
  assert.equal(validateConnections([hospital('epic-north'), hospital('epic-south')]).length, 2);
  // The shipped connections name the systems the simulators send, each its own.
  const shipped = loadConnections(undefined, {}).map((c) => localIdentifierSystems(c).MR);
  assert.deepEqual(shipped, [
    'urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.14',
    'urn:oid:2.16.840.1.113883.6.1000',
    'urn:oid:2.16.840.1.113883.3.7777.1',
  ]);
});

test('an HL7 v2 feed is checked when loaded: facility, zone, identifier systems; two feeds never claim one facility', () => {
  const feed: Hl7FeedConfig = {
    kind: 'hl7v2',
    id: 'feed-a',
    adapter: 'hl7v2',
    facility: { sendingFacility: 'HOSP_A' },
    timeZone: 'America/Denver',
  };
  assert.equal(validateHl7Feed(feed), feed);
  assert.throws(() => validateHl7Feed({ ...feed, facility: { sendingFacility: '' } }), /facility\.sendingFacility \(MSH-4\) is required/);
  assert.throws(() => validateHl7Feed({ ...feed, facility: { sendingFacility: 'X', sendingApplication: '' } }), /sendingApplication/);
  assert.throws(() => validateHl7Feed({ ...feed, timeZone: 'Mars/Base' }), /not an IANA time zone/);
  assert.throws(() => validateHl7Feed({ ...feed, identifierSystems: { MR: 'nope' } }), /must be a URI/);
  assert.throws(() => validateConnections([feed, { ...feed, id: 'feed-b' }]), /HL7 feeds feed-a and feed-b both claim the facility HOSP_A/);
  // One facility, two applications: two feeds.
  const adt = { ...feed, facility: { sendingFacility: 'HOSP_A', sendingApplication: 'ADT' } };
  assert.equal(
    validateConnections([adt, { ...feed, id: 'feed-b', facility: { sendingFacility: 'HOSP_A', sendingApplication: 'LAB' } }]).length,
    2,
  );
  assert.equal(isHl7Feed(feed), true);
});

test('two connections claiming one identifier system is a configuration error, at start', () => {
  const shared = { MR: 'urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.14' };
  assert.throws(
    () => validateConnections([hospital('epic-north', shared), hospital('epic-south', shared)]),
    /epic-north\.identifierSystems\.MR and epic-south\.identifierSystems\.MR both name the identifier system "urn:oid:1\.2\.840\.114350\.1\.13\.0\.1\.7\.5\.737384\.14"/,
  );
  // A configured system that is another connection's default is caught too.
  assert.throws(
    () => validateConnections([hospital('epic-north'), hospital('epic-south', { PI: 'urn:patient-gateway:connection:epic-north:mr' })]),
    /both name the identifier system/,
  );
  assert.throws(() => validateConnections([hospital('epic-north'), hospital('epic-north')]), /configured twice/);
  const dir = mkdtempSync(join(tmpdir(), 'connections-'));
  try {
    const file = join(dir, 'connections.json');
    writeFileSync(file, JSON.stringify({ connections: [hospital('a', shared), hospital('b', shared)] }));
    assert.throws(() => loadConnections(file, {}), /both name the identifier system/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('trusted issuers come with their JWK Set', () => {
  const dir = mkdtempSync(join(tmpdir(), 'issuers-'));
  try {
    writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid: 'k' }] }));
    writeFileSync(
      join(dir, 'issuers.json'),
      JSON.stringify({ issuers: [{ issuer: 'https://idp.example', audience: 'patient-gateway', jwksFile: 'jwks.json' }] }),
    );
    const [issuer] = loadIssuers(join(dir, 'issuers.json'));
    assert.equal(issuer?.issuer, 'https://idp.example');
    assert.equal(issuer?.jwks?.length, 1);
    writeFileSync(join(dir, 'empty.json'), JSON.stringify({ keys: [] }));
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ issuers: [{ issuer: 'x', audience: 'y', jwksFile: 'empty.json' }] }));
    assert.throws(() => loadIssuers(join(dir, 'bad.json')), /JWK Set/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('vendor profiles carry identifier systems, extensions, code maps, a time zone and deviations, and are checked', () => {
  const dir = join(PROJECT_ROOT, 'config', 'vendor-profiles');
  const names = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5))
    .sort();
  assert.deepEqual(names, ['athenahealth', 'cerner', 'epic', 'fhir-r4', 'hl7v2']);
  for (const name of names) {
    const p = loadVendorProfile(name);
    assert.ok(p.keptIdentifierSystems[p.mrnIdentifier.system] === 'MR', `${name}: the MRN system is kept as MR`);
    assert.ok(p.conceptMaps.includes('urn:patient-gateway:ConceptMap:administrative-gender'), `${name}: gender spellings from the map`);
    assert.equal(p.numbersAsStrings, p.deviations.includes(DEVIATIONS.numbersAsStrings));
    assert.ok(!('genderAliases' in p), `${name}: gender spellings live in the administrative-gender concept map only`);
  }
  assert.equal(
    loadVendorProfile('epic').extensions.administrativeGender,
    'http://open.epic.com/FHIR/StructureDefinition/extension/legal-sex',
  );
  assert.equal(loadVendorProfile('cerner').numbersAsStrings, true);

  const bad = mkdtempSync(join(tmpdir(), 'profiles-'));
  try {
    const good = JSON.parse(readFileSync(join(dir, 'athenahealth.json'), 'utf8')) as Record<string, unknown>;
    const write = (patch: Record<string, unknown>) => writeFileSync(join(bad, 'athenahealth.json'), JSON.stringify({ ...good, ...patch }));
    write({});
    assert.equal(loadVendorProfile('athenahealth', bad).vendor, 'athenahealth');
    write({ deviations: ['numbers-as-strings', 'typos'] });
    assert.throws(() => loadVendorProfile('athenahealth', bad), /deviations names an unknown deviation "typos"/);
    write({ timeZone: 'Mars/Olympus_Mons' });
    assert.throws(() => loadVendorProfile('athenahealth', bad), /timeZone "Mars\/Olympus_Mons" is not an IANA time zone/);
    write({ timeZone: undefined });
    assert.throws(() => loadVendorProfile('athenahealth', bad), /timeZone/);
    write({ extensions: { administrativeGender: 'not a url', race: null, ethnicity: null } });
    assert.throws(() => loadVendorProfile('athenahealth', bad), /extensions\.administrativeGender/);
    write({ vendor: 'athena' });
    assert.throws(() => loadVendorProfile('athenahealth', bad), /vendor must be "athenahealth"/);
  } finally {
    rmSync(bad, { recursive: true, force: true });
  }
});

test("a connection without a time zone takes its vendor profile's, from the adapters beside its file", () => {
  const dir = mkdtempSync(join(tmpdir(), 'third-'));
  try {
    writeFileSync(
      join(dir, 'adapters.json'),
      JSON.stringify({ adapters: [{ name: 'athena', recordType: 'AthenaRecord', profile: 'athenahealth' }] }),
    );
    const { timeZone: _none, ...noZone } = hospital('athena-east');
    writeFileSync(
      join(dir, 'connections.json'),
      JSON.stringify({
        connections: [
          { ...noZone, adapter: 'athena' },
          { ...hospital('athena-west'), adapter: 'athena', timeZone: 'America/Denver' },
        ],
      }),
    );
    const [east, west] = loadConnections(join(dir, 'connections.json'), {});
    assert.equal(east!.timeZone, loadVendorProfile('athenahealth').timeZone);
    assert.equal(west!.timeZone, 'America/Denver');
    writeFileSync(join(dir, 'connections.json'), JSON.stringify({ connections: [{ ...noZone, adapter: 'nowhere' }] }));
    assert.throws(() => loadConnections(join(dir, 'connections.json'), {}), /timeZone is required/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
