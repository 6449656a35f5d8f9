// The benchmark's small pure pieces: are two answers the same data, the ratios line, the
// command-line lists, and whether the audit trail has one record per patient access.
import { GATEWAY_KINDS, type GatewayKind } from './protocol.ts';

/** JSON with every object's keys sorted: two answers with the same data print the same. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/**
 * Where two JSON values first differ (a path such as `data.patient.sourceRecords[1].mrn`), or
 * undefined when they hold the same data; the order of an object's keys does not matter, the
 * order of a list does.
 */
export function firstDifference(a: unknown, b: unknown, path = '$'): string | undefined {
  if (a === b) return undefined;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return path;
  if (Array.isArray(a) !== Array.isArray(b)) return path;
  if (Array.isArray(a)) {
    const bs = b as unknown[];
    if (a.length !== bs.length) return `${path} (length ${a.length} vs ${bs.length})`;
    for (let i = 0; i < a.length; i++) {
      const d = firstDifference(a[i], bs[i], `${path}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(ao), ...Object.keys(bo)])].sort();
  for (const k of keys) {
    if (!(k in ao) || !(k in bo)) return `${path}.${k} (present in one answer only)`;
    const d = firstDifference(ao[k], bo[k], `${path}.${k}`);
    if (d) return d;
  }
  return undefined;
}

const fixed = (x: number | null | undefined, digits: number): string =>
  x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(digits);

/** The benchmark's last line, in the form issue 17 fixes (ratios of req/s at 50 connections, two decimals). */
export function ratiosLine(r: {
  readonly fullOverStock: number | null;
  readonly fullOverHiveRust: number | null;
  readonly unloadedP50FullMs: number | null;
  readonly unloadedP50StockMs: number | null;
}): string {
  return (
    `gateway ratios: full/stock=${fixed(r.fullOverStock, 2)} full/hive-rust=${fixed(r.fullOverHiveRust, 2)} ` +
    `unloaded-p50 full=${fixed(r.unloadedP50FullMs, 1)} ms stock=${fixed(r.unloadedP50StockMs, 1)} ms`
  );
}

/** `--connections 16,50`: distinct positive integers, ascending. */
export function parseConnections(text: string): number[] {
  const parts = text.split(',').map((p) => p.trim());
  const values = parts.map(Number);
  if (parts.some((p) => p === '') || values.some((n) => !Number.isInteger(n) || n < 1 || n > 1000))
    throw new Error(`--connections must be a comma-separated list of integers from 1 to 1000 (got "${text}")`);
  return [...new Set(values)].sort((a, b) => a - b);
}

/** `--targets full,stock,...`: known names, in the fixed order of every round; `full` always included (it writes the audit trail). */
export function parseTargets(text: string): GatewayKind[] {
  const names = text.split(',').map((p) => p.trim());
  const unknown = names.filter((n) => !(GATEWAY_KINDS as readonly string[]).includes(n));
  if (unknown.length) throw new Error(`--targets: unknown target "${unknown[0]}" (known: ${GATEWAY_KINDS.join(', ')})`);
  if (!names.includes('full')) throw new Error('--targets must include full (the product, whose audit trail is checked)');
  return GATEWAY_KINDS.filter((k) => names.includes(k));
}

export type AuditCheck = { readonly ok: boolean; readonly lines: readonly string[] };

/**
 * One audit record set per patient access, checked two ways.
 * Exactly, over the last phase (every request awaited): as many requests audited as were answered,
 * each naming the patient it asked for. Over the whole run: no disclosure recorded twice (rows ==
 * distinct request x subgraph x subject), and between answered and answered + the requests a load
 * run may leave in flight when it stops (autocannon drops them unanswered; the gateway still serves
 * and audits them).
 */
export function checkAudit(input: {
  readonly askedLastPhase: readonly string[];
  readonly patientsOfRequestsLastPhase: Readonly<Record<string, readonly string[]>>;
  readonly rows: number;
  readonly disclosures: number;
  readonly requestsAudited: number;
  readonly requestsAnswered: number;
  readonly inFlightAtStopMax: number;
}): AuditCheck {
  const lines: string[] = [];
  let ok = true;
  const fail = (line: string) => {
    ok = false;
    lines.push(`FAILED: ${line}`);
  };
  const audited = Object.values(input.patientsOfRequestsLastPhase)
    .map((ps) => ps.join('+'))
    .sort();
  const asked = input.askedLastPhase.map((id) => `Patient/${id}`).sort();
  if (audited.length !== asked.length) fail(`last phase: ${asked.length} requests answered, ${audited.length} requests in the audit trail`);
  else if (audited.some((a, i) => a !== asked[i]))
    fail('last phase: the audited requests do not name exactly the patients asked for, one each');
  else lines.push(`last phase: ${asked.length} requests answered, ${audited.length} audited, each naming the patient it asked for`);

  const duplicates = input.rows - input.disclosures;
  if (duplicates !== 0) fail(`${duplicates} audit rows repeat a disclosure already recorded for the same request, subgraph and subject`);
  const { requestsAudited: audit, requestsAnswered: answered, inFlightAtStopMax: slack } = input;
  if (audit < answered || audit > answered + slack)
    fail(`whole run: ${answered} full requests answered (+ at most ${slack} left in flight), ${audit} requests audited`);
  else
    lines.push(
      `whole run: ${answered} full requests answered, ${audit} audited (${audit - answered} left in flight when a load stopped, at most ${slack}); ` +
        `${input.rows} rows, ${input.rows - input.disclosures} duplicates`,
    );
  return { ok, lines };
}
