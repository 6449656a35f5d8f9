import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAdapters, loadConnections, loadIssuers, loadVendorProfile, substituteEnv, validateConnection } from './config.ts';

test('the shipped configuration loads: adapters, connections, vendor profiles, no extra issuers', () => {
  const adapters = loadAdapters();
  assert.deepEqual(
    adapters.map((a) => a.name),
    ['epic', 'cerner'],
  );
  const connections = loadConnections(undefined, {});
  assert.deepEqual(
    connections.map((c) => c.adapter),
    ['epic', 'cerner'],
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
