// Runs simulated EHRs on their own (docker compose, manual testing). Prints one line per served
// site, `<site id> <FHIR base URL>`, and nothing else.
//
//   SIM_SEED=42 SIM_SIZE=2000 SIM_SITES=epic-main:epic:4101,cerner-main:cerner:4102 \
//   SIM_CLIENTS_JWKS=clients.json SIM_TRUTH_OUT=truth.csv node simulators/main.ts
//
// SIM_CLIENTS_JWKS  JSON file { "<client id>": <public JWK>, ... } of the registered backend apps
// SIM_SITES         sites to serve, id:vendor:port (port 0 = ephemeral)
// SIM_ALL_SITES     sites the population is generated for, id:vendor (default: the default
//                   SIM_SITES); one process per site (compose) then serves the same people
// SIM_HOST          listen address (default 127.0.0.1; 0.0.0.0 in a container)
// SIM_TOKEN_TTL     access-token lifetime in seconds (default 300)
// SIM_TRUTH_OUT     where to write the ground-truth CSV (optional)
// SIM_LARGE_HISTORY Observations added to the first patient of every site (default 0), for paging
// SIM_DEV_WRITES    1 = serve the development-only change endpoints under /_simulator (never in production)
// SIM_HL7_SITES     HL7 v2 sites in the population, id:facility:timeZone (every process of one
//                   deployment names the same ones, so that all generate the same people)
// SIM_HL7_SEND_TO   host:port of an MLLP listener: this process sends the HL7 sites' traffic there
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { JWK } from 'jose';
import {
  createHl7Sender,
  startSimulators,
  truthToCsv,
  VENDORS,
  type Hl7SiteSpec,
  type SimulatorClient,
  type SimulatorSite,
  type Vendor,
} from './index.ts';

const DEFAULT_SITES = 'epic-main:epic:4101,cerner-main:cerner:4102';

// The simulators share no product code (runtime/cli.ts included): their command line is this.
const HELP = `usage: npm run simulators   (node simulators/main.ts)

Runs simulated EHRs (FHIR R4 + SMART Backend Services) on their own and prints one line per served
site, <site id> <FHIR base URL>. Configured by the environment only.

options:
  -h, --help        show this help and exit

environment:
  SIM_SITES         sites to serve, id:vendor:port (default ${DEFAULT_SITES}; port 0 = ephemeral;
                    none = serve no FHIR site, e.g. a process that only sends HL7)
  SIM_ALL_SITES     sites the population is generated for, id:vendor (default: the default SIM_SITES)
  SIM_SEED          seed of the synthetic population (default 42)
  SIM_SIZE          people in it (default 2000)
  SIM_HOST          listen address (default 127.0.0.1)
  SIM_TOKEN_TTL     access-token lifetime in seconds (default 300)
  SIM_CLIENTS_JWKS  JSON file { "<client id>": <public JWK>, ... } of the registered backend apps
  SIM_TRUTH_OUT     where to write the ground-truth CSV
  SIM_DEV_WRITES    1 = accept chart changes under /_simulator (development only; no authentication)
  SIM_HL7_SITES     HL7 v2 sites in the population, id:facility:timeZone (e.g.
                    community-feed:COMMUNITY:America/Denver); give every process the same list
  SIM_HL7_SEND_TO   host:port of an MLLP listener: send the HL7 sites' ADT and ORU traffic there,
                    each message retransmitted until the listener answers it

example:
  SIM_SITES=epic-main:epic:0 SIM_SIZE=100 npm run simulators
`;

function commandLine(): void {
  let help: boolean | undefined;
  try {
    ({ help } = parseArgs({ options: { help: { type: 'boolean', short: 'h' } } }).values);
  } catch (error) {
    process.stderr.write(`simulators: ${(error as Error).message.split(/\.\s|\n/)[0]} (see npm run simulators -- --help)\n`);
    process.exit(2);
  }
  if (help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
}

function parseSites(spec: string, withPort: boolean): SimulatorSite[] {
  return spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const [id, vendor, port] = entry.split(':');
      if (!id || !(VENDORS as readonly string[]).includes(vendor ?? ''))
        throw new Error(`site "${entry}" must be id:${VENDORS.join('|')}${withPort ? ':port' : ''}`);
      const portNumber = Number(port ?? 0);
      if (withPort && !(Number.isInteger(portNumber) && portNumber >= 0 && portNumber < 65536))
        throw new Error(`site "${entry}": bad port`);
      return { id, vendor: vendor as Vendor, ...(withPort ? { port: portNumber } : {}) };
    });
}

/** id:facility:timeZone, as a feed of config/connections.json names its site (facility = its MSH-4). */
function parseHl7Sites(spec: string): Hl7SiteSpec[] {
  return spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const [id, facility, timeZone, extra] = entry.split(':');
      if (!id || !facility || !timeZone || extra !== undefined) throw new Error(`HL7 site "${entry}" must be id:facility:timeZone`);
      try {
        new Intl.DateTimeFormat('en-US', { timeZone });
      } catch {
        throw new Error(`HL7 site "${entry}": unknown time zone`);
      }
      return { id, facility, timeZone };
    });
}

/** host:port of the listener the HL7 sites send to. */
function parseTarget(spec: string): { readonly host: string; readonly port: number } {
  const m = /^(.+):(\d{1,5})$/.exec(spec.trim());
  const port = Number(m?.[2]);
  if (!m || port < 1 || port > 65535) throw new Error(`SIM_HL7_SEND_TO "${spec}" must be host:port`);
  return { host: m[1]!, port };
}

function integer(name: string, fallback: number): number {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isSafeInteger(value)) throw new Error(`${name} must be an integer`);
  return value;
}

function clients(file: string | undefined): SimulatorClient[] {
  if (!file) return [];
  const registered = JSON.parse(readFileSync(file, 'utf8')) as Record<string, JWK>;
  return Object.entries(registered).map(([clientId, publicJwk]) => ({ clientId, publicJwk }));
}

async function main(): Promise<void> {
  const env = process.env;
  const served = env.SIM_SITES === 'none' ? [] : parseSites(env.SIM_SITES || DEFAULT_SITES, true);
  const hl7Sites = parseHl7Sites(env.SIM_HL7_SITES ?? '');
  const target = env.SIM_HL7_SEND_TO ? parseTarget(env.SIM_HL7_SEND_TO) : undefined;
  if (target && hl7Sites.length === 0) throw new Error('SIM_HL7_SEND_TO needs SIM_HL7_SITES');
  const all = parseSites(env.SIM_ALL_SITES || DEFAULT_SITES, false);
  for (const s of served) if (!all.some((a) => a.id === s.id)) all.push({ id: s.id, vendor: s.vendor });
  const running = await startSimulators({
    seed: integer('SIM_SEED', 42),
    size: integer('SIM_SIZE', 2000),
    sites: all.map((s) => ({ ...s, port: served.find((x) => x.id === s.id)?.port ?? 0 })),
    serveOnly: served.map((s) => s.id),
    clients: clients(env.SIM_CLIENTS_JWKS),
    host: env.SIM_HOST || '127.0.0.1',
    tokenTtlSeconds: integer('SIM_TOKEN_TTL', 300),
    largeHistory: { observations: integer('SIM_LARGE_HISTORY', 0) },
    devWrites: env.SIM_DEV_WRITES === '1',
    hl7Sites,
  });
  if (env.SIM_TRUTH_OUT) writeFileSync(env.SIM_TRUTH_OUT, truthToCsv(running.population.truth));
  for (const [id, server] of Object.entries(running.servers)) process.stdout.write(`${id} ${server.url}\n`);
  const senders = target ? Object.entries(running.hl7Traffic).map(([site, messages]) => sendTraffic(site, messages, target)) : [];
  const stop = (): void => {
    void Promise.all([running.close(), ...senders.map((s) => s.close())]).then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** One site's messages in order, each retransmitted until answered; one summary line when all are. */
function sendTraffic(site: string, messages: readonly string[], target: { host: string; port: number }) {
  const sender = createHl7Sender(target);
  let accepted = 0;
  sender
    .sendAll(messages, (ack) => {
      if (/\rMSA\|(AA|CA)\|/.test(`\r${ack}`)) accepted++;
    })
    .then(
      (sent) => process.stdout.write(`${site} sent ${sent} HL7 messages to ${target.host}:${target.port}, ${accepted} accepted\n`),
      (error: unknown) => process.stderr.write(`simulators: ${site}: ${(error as Error).message}\n`),
    );
  return sender;
}

commandLine();
main().catch((error: unknown) => {
  process.stderr.write(`simulators: ${(error as Error).message}\n`);
  process.exit(1);
});
