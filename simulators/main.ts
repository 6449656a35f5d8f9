// Runs simulated EHRs on their own (docker compose, manual testing):
//   SIM_SITES=epic-main:epic:4101,cerner-main:cerner:4102 SIM_CLIENTS_JWKS=clients.json node simulators/main.ts
// SIM_CLIENTS_JWKS is a JSON object { "<client id>": <public JWK> } of the registered backend apps.
import { readFileSync, writeFileSync } from 'node:fs';
import type { JWK } from 'jose';
import { startSimulators, truthToCsv } from './index.ts';
import type { Vendor } from './vendors/shape.ts';

const env = process.env;
const sites = (env.SIM_SITES ?? 'epic-main:epic:4101,cerner-main:cerner:4102').split(',').map((entry) => {
  const [id, vendor, port] = entry.split(':');
  if (!id || (vendor !== 'epic' && vendor !== 'cerner')) throw new Error(`SIM_SITES entry "${entry}" must be id:epic|cerner:port`);
  return { id, vendor: vendor as Vendor, port: Number(port ?? 0) };
});
const clients = env.SIM_CLIENTS_JWKS
  ? Object.entries(JSON.parse(readFileSync(env.SIM_CLIENTS_JWKS, 'utf8')) as Record<string, JWK>).map(([clientId, publicJwk]) => ({ clientId, publicJwk }))
  : [];
// Every simulator of a compose stack generates the same population (same seed and size) and serves its own site.
const all = (env.SIM_ALL_SITES ?? 'epic-main:epic,cerner-main:cerner').split(',').map((e) => ({ id: e.split(':')[0]!, vendor: e.split(':')[1] as Vendor }));
const running = await startSimulators({
  seed: Number(env.SIM_SEED ?? 42),
  size: Number(env.SIM_SIZE ?? 2000),
  sites: all.map((s) => ({ ...s, port: sites.find((x) => x.id === s.id)?.port ?? 0 })),
  serveOnly: sites.map((s) => s.id),
  clients,
  host: env.SIM_HOST ?? '127.0.0.1',
});
if (env.SIM_TRUTH_OUT) writeFileSync(env.SIM_TRUTH_OUT, truthToCsv(running.population.truth));
for (const [id, s] of Object.entries(running.servers)) process.stdout.write(`${id}: ${s.url}\n`);
const stop = () => void running.close().then(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
