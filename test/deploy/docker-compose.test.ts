// No Docker engine runs where the tests do, so docker-compose.yml is checked as a file: every
// dependency names a service, every command names a script of the project, the gateway knows every
// subgraph, and the simulator processes generate one population with the HL7 feeds the product has.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { hl7Feeds, loadAdapters, loadConnections, PROJECT_ROOT } from '../../platform/config.ts';

type Service = {
  readonly command?: readonly string[];
  readonly environment?: Readonly<Record<string, string>>;
  readonly depends_on?: Readonly<Record<string, { condition: string }>>;
};
const compose = parse(readFileSync(join(PROJECT_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
};
const services = Object.entries(compose.services);

test('docker-compose.yml: dependencies name services, commands name scripts of the project', () => {
  for (const [name, s] of services) {
    for (const dep of Object.keys(s.depends_on ?? {})) assert.ok(compose.services[dep], `${name} depends on unknown service ${dep}`);
    const script = s.command?.[0] === 'node' ? s.command[1] : undefined;
    if (script) assert.ok(existsSync(join(PROJECT_ROOT, script)), `${name} runs ${script}, which does not exist`);
  }
});

test('docker-compose.yml: the gateway is given every subgraph the product composes', () => {
  const env = compose.services.gateway!.environment!;
  const expected = ['mpi', 'audit', 'clinical', 'integration', ...loadAdapters().map((a) => a.name)];
  for (const name of expected) {
    const url = env[`SUBGRAPH_URL_${name.toUpperCase()}`];
    assert.ok(url, `no SUBGRAPH_URL_${name.toUpperCase()}`);
    assert.ok(compose.services[new URL(url).hostname], `SUBGRAPH_URL_${name.toUpperCase()} names no service`);
  }
});

test('docker-compose.yml: every simulator names the HL7 feeds of config/connections.json; one sends them to the ingester', () => {
  const feeds = hl7Feeds(loadConnections())
    .map((f) => `${f.id}:${f.facility.sendingFacility}:${f.timeZone}`)
    .join(',');
  const simulators = services.filter(([, s]) => s.command?.[1] === 'simulators/main.ts');
  assert.ok(simulators.length >= 3);
  for (const [name, s] of simulators) assert.equal(s.environment?.SIM_HL7_SITES, feeds, `${name}: SIM_HL7_SITES`);
  const senders = simulators.filter(([, s]) => s.environment?.SIM_HL7_SEND_TO);
  assert.equal(senders.length, 1, 'one process sends the feed (two would send every message twice)');
  const [host, port] = senders[0]![1].environment!.SIM_HL7_SEND_TO!.split(':');
  const ingest = compose.services[host!];
  assert.ok(ingest, `SIM_HL7_SEND_TO names no service: ${host}`);
  assert.deepEqual(ingest.command, ['node', 'runtime/service.ts', 'ingest']);
  assert.equal(ingest.environment?.INGEST_MLLP_PORT, port);
});
