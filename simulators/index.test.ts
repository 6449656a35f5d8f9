import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLINICAL_TYPES, startSimulators, truthToCsv } from './index.ts';
import { accessToken, testApp } from './testing.ts';

const SITES = [
  { id: 'epic-main', vendor: 'epic' },
  { id: 'cerner-main', vendor: 'cerner' },
] as const;

test('startSimulators serves every site from one population; serveOnly serves a subset of the same people', async () => {
  const app = await testApp('gateway');
  const all = await startSimulators({ seed: 3, size: 120, sites: SITES, clients: [app.registration] });
  try {
    assert.deepEqual(Object.keys(all.servers), ['epic-main', 'cerner-main']);
    const token = await accessToken(app, all.servers['cerner-main']!.tokenUrl);
    const res = await fetch(`${all.servers['cerner-main']!.url}/Patient?_count=0`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(((await res.json()) as { total: number }).total, all.population.sites['cerner-main']!.patients.length);
  } finally {
    await all.close();
  }
  const one = await startSimulators({ seed: 3, size: 120, sites: SITES, serveOnly: ['cerner-main'], clients: [] });
  try {
    assert.deepEqual(Object.keys(one.servers), ['cerner-main']);
    assert.equal(truthToCsv(one.population.truth), truthToCsv(all.population.truth));
  } finally {
    await one.close();
  }
  await assert.rejects(startSimulators({ seed: 3, size: 10, sites: SITES, serveOnly: ['nowhere'], clients: [] }));
});

test('the CLI prints only the URLs, writes the truth, registers clients from a JWKS file and stops on SIGTERM', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sim-cli-'));
  try {
    const app = await testApp('cli-app');
    writeFileSync(join(dir, 'clients.json'), JSON.stringify({ [app.clientId]: app.publicJwk }));
    const child = spawn(process.execPath, [join(import.meta.dirname, 'main.ts')], {
      env: {
        ...process.env,
        SIM_SEED: '9',
        SIM_SIZE: '60',
        SIM_SITES: 'cerner-main:cerner:0',
        SIM_CLIENTS_JWKS: join(dir, 'clients.json'),
        SIM_TRUTH_OUT: join(dir, 'truth.csv'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const line = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('\n')) resolve(out);
      });
      child.once('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
    });
    const [id, url] = line.trim().split(' ');
    assert.equal(id, 'cerner-main');
    assert.match(url!, /^http:\/\/127\.0\.0\.1:\d+\/r4\/ec2458f2-1e24-41c8-b71b-0e701af7583d$/);
    const conf = (await (await fetch(`${url!}/.well-known/smart-configuration`)).json()) as { token_endpoint: string };
    const token = await accessToken(app, conf.token_endpoint);
    assert.equal((await fetch(`${url!}/Patient?_count=1`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
    // The population is generated for both default sites even though only one is served.
    const truth = readFileSync(join(dir, 'truth.csv'), 'utf8');
    assert.match(truth, /^person_id,site_id,patient_id,mrn,discrepancy\n/);
    assert.ok(truth.includes(',epic-main,') && truth.includes(',cerner-main,'));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.equal(out.trim().split('\n').length, 1, 'one line per served site, nothing else');
    assert.equal(err, '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an athenahealth site: its own paths, every type in the CapabilityStatement, searches paged, restarts serve the same data', async () => {
  const app = await testApp('gateway');
  const sites = [...SITES, { id: 'athena-east', vendor: 'athenahealth' as const }];
  const start = () => startSimulators({ seed: 4, size: 90, sites, serveOnly: ['athena-east'], clients: [app.registration] });
  const first = await start();
  const read = async (sims: Awaited<ReturnType<typeof start>>, path: string): Promise<unknown> => {
    const server = sims.servers['athena-east']!;
    const token = await accessToken(app, server.tokenUrl);
    // Bundles name the server's (ephemeral) origin: compared without it.
    const text = await (await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${token}` } })).text();
    return JSON.parse(text.replaceAll(new URL(server.url).origin, 'http://sim')) as unknown;
  };
  let bundle: unknown;
  try {
    const server = first.servers['athena-east']!;
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/fhir\/r4$/);
    assert.match(server.tokenUrl, /\/oauth2\/v1\/token$/);
    const cs = (await (await fetch(`${server.url}/metadata`)).json()) as {
      software: { name: string };
      rest: { resource: { type: string }[] }[];
    };
    assert.equal(cs.software.name, 'athenaOne');
    assert.deepEqual(
      cs.rest[0]!.resource.map((r) => r.type),
      ['Patient', ...CLINICAL_TYPES],
    );
    const ids = first.population.sites['athena-east']!.patients.slice(0, 30).map((p) => p.id);
    bundle = await read(first, `/DiagnosticReport?patient=${ids.join(',')}&_count=5`);
    const b = bundle as { total: number; entry: unknown[]; link: { relation: string }[] };
    assert.ok(b.total > 5 && b.entry.length === 5 && b.link.some((l) => l.relation === 'next'), JSON.stringify(b).slice(0, 300));
  } finally {
    await first.close();
  }
  const again = await start();
  try {
    const ids = again.population.sites['athena-east']!.patients.slice(0, 30).map((p) => p.id);
    const b = (await read(again, `/DiagnosticReport?patient=${ids.join(',')}&_count=5`)) as Record<string, unknown>;
    const strip = (x: unknown) => ({ ...(x as Record<string, unknown>), id: undefined, meta: undefined });
    assert.deepEqual(strip(b), strip(bundle), 'a restart serves identical data');
  } finally {
    await again.close();
  }
});

test('the CLI as an HL7 site (compose): SIM_SITES=none sends ADT and ORU over MLLP until answered, same people as npm start', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sim-hl7-'));
  const received: string[] = [];
  let refuseFirst = true;
  // A listener that answers the first message with nothing (the connection drops): the site must send it again.
  const listener = net.createServer((socket) => {
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (let end = buffer.indexOf('\x1c\r'); end >= 0; end = buffer.indexOf('\x1c\r')) {
        const message = buffer.subarray(buffer.indexOf(0x0b) + 1, end).toString('utf8');
        buffer = buffer.subarray(end + 2);
        if (refuseFirst) {
          refuseFirst = false;
          socket.destroy();
          return;
        }
        received.push(message);
        const controlId = message.split(/\r|\n/)[0]!.split('|')[9];
        socket.write(`\x0bMSH|^~\\&|TEST|TEST|||20260101000000||ACK|${controlId}-ack|P|2.5.1\rMSA|AA|${controlId}\r\x1c\r`);
      }
    });
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const port = (listener.address() as net.AddressInfo).port;
  const hl7Site = 'community-feed:COMMUNITY:America/Denver';
  try {
    const child = spawn(process.execPath, [join(import.meta.dirname, 'main.ts')], {
      env: {
        ...process.env,
        SIM_SEED: '9',
        SIM_SIZE: '40',
        SIM_SITES: 'none',
        SIM_HL7_SITES: hl7Site,
        SIM_HL7_SEND_TO: `127.0.0.1:${port}`,
        SIM_TRUTH_OUT: join(dir, 'truth.csv'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const summary = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('\n')) resolve(out.trim());
      });
      child.once('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
      child.once('error', reject);
    });
    const m = /^community-feed sent (\d+) HL7 messages to 127\.0\.0\.1:\d+, (\d+) accepted$/.exec(summary);
    assert.ok(m, `${summary}\n${err}`);
    assert.equal(Number(m[1]), received.length, 'every message arrived once it was answered');
    assert.equal(Number(m[2]), received.length);
    const headers = received.map((r) => r.split(/\r|\n/)[0]!.split('|'));
    assert.ok(
      headers.every((h) => h[3] === 'COMMUNITY'),
      'MSH-4 names the feed its connection routes by',
    );
    const kinds = new Set(headers.map((h) => h[8]!.split('^').slice(0, 2).join('^')));
    assert.ok(kinds.has('ADT^A04') && kinds.has('ORU^R01'), [...kinds].join(' '));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.equal(err, '');

    // The same people as the product's in-process simulators (npm start) generate with the feed.
    const inProcess = await startSimulators({
      seed: 9,
      size: 40,
      sites: SITES,
      serveOnly: [],
      clients: [],
      hl7Sites: [{ id: 'community-feed', facility: 'COMMUNITY', timeZone: 'America/Denver' }],
    });
    await inProcess.close();
    assert.equal(readFileSync(join(dir, 'truth.csv'), 'utf8'), truthToCsv(inProcess.population.truth));
    const sent = inProcess.hl7Traffic['community-feed']!;
    assert.equal(sent.length, received.length);
    assert.ok(
      sent.every((m, i) => m === received[i]),
      'the messages npm start would send, in its order',
    );
  } finally {
    listener.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the CLI refuses an HL7 target without sites, and a malformed site, in one line', async () => {
  const run = (env: NodeJS.ProcessEnv) =>
    new Promise<{ code: number | null; err: string }>((resolve) => {
      const child = spawn(process.execPath, [join(import.meta.dirname, 'main.ts')], {
        env: { ...process.env, SIM_SIZE: '5', SIM_SITES: 'none', ...env },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let err = '';
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      child.once('exit', (code) => resolve({ code, err }));
    });
  assert.deepEqual(await run({ SIM_HL7_SEND_TO: '127.0.0.1:2575' }), { code: 1, err: 'simulators: SIM_HL7_SEND_TO needs SIM_HL7_SITES\n' });
  const bad = await run({ SIM_HL7_SITES: 'feed:COMMUNITY:Mars/Olympus', SIM_HL7_SEND_TO: '127.0.0.1:2575' });
  assert.deepEqual(bad, { code: 1, err: 'simulators: HL7 site "feed:COMMUNITY:Mars/Olympus": unknown time zone\n' });
  const port = await run({ SIM_HL7_SITES: 'feed:COMMUNITY:UTC', SIM_HL7_SEND_TO: 'nowhere' });
  assert.deepEqual(port, { code: 1, err: 'simulators: SIM_HL7_SEND_TO "nowhere" must be host:port\n' });
});
