// Linking a stream of FHIR R4 Patient resources (NDJSON lines) into the MPI: each line read into
// what the store links (prepareRecord: bad lines are kept, quarantined and reported, never
// dropped), chunks linked set-based through linkBatch with a record-by-record fallback for data
// the database refuses (storeLinker), results reported in input order (linkNdjson). The library
// behind `npm run mpi:link` (runtime/mpi-link.ts, the command) and the MPI benchmarks (bench/mpi/),
// so their figures describe the command.
import { createHash } from 'node:crypto';
import { setImmediate as turn } from 'node:timers/promises';
import type { ConnectionConfig, VendorProfile } from '../../platform/config.ts';
import type { Database } from '../../platform/db.ts';
import type { IdentifierProtection } from '../../security/identifier-protection.ts';
import { sourceDemographics, sourceScope, type SourceDemographics, type SourceScope } from '../../translation/fhir-r4/patient.ts';
import { error as issueError, type TranslationIssue } from '../../translation/issues.ts';
import { quarantine, type QuarantineEntry } from '../../translation/quarantine.ts';
import type { MatchingConfig } from './matching/index.ts';
import {
  BATCH_CHUNK,
  isRetryable,
  LINK_STATES,
  linkBatch,
  linkSourceRecord,
  upkeepOf,
  type LinkOptions,
  type LinkOutcome,
  type LinkState,
} from './store.ts';

export const DEFAULT_PROFILE = 'fhir-r4';
/**
 * Records in flight against the store. The store serializes what must be (per match key); more than a few per core only queues in
 * PostgreSQL.
 */
export const DEFAULT_CONCURRENCY = 8;
/**
 * Records translated, quarantined and handed to linkBatch together: small enough to bound memory,
 * large enough for linkBatch's pipeline (four of its chunks). Online linkers wait for at most two such
 * calls (the running one and the one queued behind it) while a batch runs.
 */
const CHUNK_SIZE = 4 * BATCH_CHUNK;

/** Why a record is "bad". Fixed phrases: they are printed, so they never carry a value from the record. */
export const PROBLEMS = {
  notJson: 'not JSON',
  notObject: 'not a JSON object',
  notPatient: 'not a Patient resource',
  noId: 'no id',
  idNotString: 'id is not a string',
  malformed: 'malformed Patient elements',
  noName: 'no usable name',
  invalidBirthDate: 'birth date is not a valid date',
  futureBirthDate: 'birth date is in the future',
  linkDataError: 'refused by the database',
} as const;

// ---------------------------------------------------------------------------------------------
// One input line to what is linked (pure)

export type PreparedRecord = {
  /** 1-based physical line number in the input. */
  readonly line: number;
  /** The row's record_id: the resource's id, else `line-<n>`. */
  readonly recordId: string;
  /** What is linked; its sourcePatientId is the id the store keeps (see storedIdFor). */
  readonly demographics: SourceDemographics;
  /** Why the record is bad (PROBLEMS phrases); empty for a good record. */
  readonly problems: readonly string[];
  /** Set when translation refused the record: kept, sealed, in the quarantine table. */
  readonly quarantine: QuarantineEntry | null;
};

/**
 * The id under which a record without a usable id of its own is stored: line number plus a digest
 * of the line. Not `line-<n>` alone: the store keeps an existing link, so the next file's line 7
 * would silently join this file's line 7 (a false merge of two unrelated people). With the digest,
 * re-running the same file is idempotent and other files never collide.
 */
export const storedIdFor = (line: number, text: string): string =>
  `line-${line}-${createHash('sha256').update(text).digest('hex').slice(0, 12)}`;

/** Only the source and the id: nothing to match on, so the store can only start a provisional golden record. */
export const identityOnly = (source: string, sourcePatientId: string): SourceDemographics => ({
  source,
  sourcePatientId,
  mrn: null,
  name: null,
  birthDate: null,
  birthDateAsRecorded: null,
  gender: null,
  identifiers: [],
  addresses: [],
  telecom: [],
  lastUpdated: null,
});

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
/** A resource type is a FHIR name, not patient data; anything else is not echoed. */
const safeResourceType = (v: unknown): string | null => (typeof v === 'string' && /^[A-Z][A-Za-z]{0,63}$/.test(v) ? v : null);

/** Translation warnings that make a record "bad" (it is still linked); other warnings (no MRN, repaired gender) are routine. */
const BAD_WARNINGS: Readonly<Record<string, string>> = { 'Patient.name': PROBLEMS.noName, 'Patient.birthDate': PROBLEMS.invalidBirthDate };

/**
 * Reads one NDJSON line into what the store links. Three cases:
 *   - a Patient that translates (possibly with warnings: no name, impossible date): linked as the
 *     online path links it; the store decides, and the invalid date reaches it as recorded.
 *   - a Patient without a usable id: translation refuses it. It is quarantined (the source must fix
 *     it) AND linked with its readable demographics under a stored id derived from line and
 *     content: the caller sent a person and expects to learn who it is; the store's usual rules
 *     decide, so it joins an existing golden record only on the same evidence as any other record.
 *   - anything else (not JSON, not a Patient, elements translation cannot read): quarantined, and
 *     linked with its identity only, which gives it a provisional golden record of its own. Its
 *     fields are not read as demographics: a Practitioner's name and birth date are not a patient's,
 *     and matching on them would be a false merge waiting to happen.
 * Never throws: one broken line must not stop a million-record run.
 */
export function prepareRecord(text: string, line: number, scope: SourceScope, profile: VendorProfile, today: string): PreparedRecord {
  const { source } = scope;
  const lineId = `line-${line}`;
  const storedId = storedIdFor(line, text);
  const refused = (
    recordId: string,
    resourceType: string,
    problems: string[],
    issues: readonly TranslationIssue[],
    payload: unknown,
  ): PreparedRecord => ({
    line,
    recordId,
    demographics: identityOnly(source, storedId),
    problems,
    quarantine: { source, resourceType, resourceId: storedId, issues, payload },
  });

  let resource: unknown;
  try {
    resource = JSON.parse(text);
  } catch {
    return refused(lineId, 'Patient', [PROBLEMS.notJson], [issueError('$', 'not JSON')], text);
  }
  if (!isObject(resource)) return refused(lineId, 'Patient', [PROBLEMS.notObject], [issueError('$', 'not a JSON object')], resource);

  const id = resource.id;
  const ownId = typeof id === 'string' && id.trim() !== '' ? id : null;
  const recordId = ownId ?? lineId;
  if (resource.resourceType !== 'Patient') {
    const type = safeResourceType(resource.resourceType);
    return refused(
      recordId,
      type ?? 'Patient',
      [type ? `${PROBLEMS.notPatient} (${type})` : PROBLEMS.notPatient],
      [issueError('resourceType', 'expected Patient')],
      resource,
    );
  }

  const problems: string[] = [];
  const idIssues: TranslationIssue[] = [];
  if (!ownId) {
    problems.push(id === undefined || id === null || id === '' ? PROBLEMS.noId : PROBLEMS.idNotString);
    idIssues.push(
      issueError('Patient.id', 'missing or not a string; linked under a stored id made of the line number and a digest of the line'),
    );
  }
  let translated;
  try {
    translated = sourceDemographics((ownId ? resource : { ...resource, id: storedId }) as never, scope, profile);
  } catch {
    // Elements of the wrong shape (an object where FHIR has an array...) make translation throw.
    return refused(
      recordId,
      'Patient',
      [...problems, PROBLEMS.malformed],
      [...idIssues, issueError('Patient', 'elements of the wrong shape')],
      resource,
    );
  }
  if (!translated.ok) {
    const errors = translated.issues.filter((i) => i.severity === 'error').map((i) => `${i.path}: ${i.message}`);
    return refused(recordId, 'Patient', [...problems, ...errors], [...idIssues, ...translated.issues], resource);
  }
  for (const issue of translated.issues) {
    const bad = BAD_WARNINGS[issue.path];
    if (bad && !problems.includes(bad)) problems.push(bad);
  }
  const birthDate = translated.value.birthDate;
  if (birthDate && birthDate.slice(0, today.length) > today) problems.push(PROBLEMS.futureBirthDate);
  return {
    line,
    recordId,
    demographics: translated.value,
    problems,
    quarantine: ownId
      ? null
      : { source, resourceType: 'Patient', resourceId: storedId, issues: [...idIssues, ...translated.issues], payload: resource },
  };
}

// ---------------------------------------------------------------------------------------------
// Linking through the store

export type LinkResult = { readonly outcome: LinkOutcome; readonly problem: string | null };
/** Links records in order of the array (results in the same order). */
export type Linker = (records: readonly SourceDemographics[]) => Promise<readonly LinkResult[]>;

/**
 * Runs fn over items with at most `limit` in flight; results in input order. Waits for every call to settle before rejecting, so nothing
 * still runs once the caller gives up.
 */
export async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  let failure: { error: unknown } | null = null;
  const worker = async (): Promise<void> => {
    while (next < items.length && !failure) {
      const i = next++;
      try {
        results[i] = await fn(items[i]!, i);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failure) throw (failure as { error: unknown }).error;
  return results;
}

const sqlState = (error: unknown): string => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
};
/**
 * The record's own data was refused (class 22 data exception, e.g. a NUL character; class 23 constraint). Anything else is the database
 * itself failing: stop.
 */
const isDataError = (code: string): boolean => code.startsWith('22') || code.startsWith('23');
const ATTEMPTS = 3;

/**
 * The batch's only way into the store: each chunk is linked set-based by the store's linkBatch (the
 * same engine and tables as the online path). A chunk whose data the database refuses is linked
 * again record by record, and a record refused on its own is linked with its identity only (a
 * provisional golden record) and reported, rather than failing a long run at record 900,000.
 */
export function storeLinker(db: Database, protection: IdentifierProtection, concurrency: number, options: LinkOptions = {}): Linker {
  const linkOne = async (d: SourceDemographics): Promise<LinkOutcome> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await linkSourceRecord(db, d, protection, options);
      } catch (error) {
        if (attempt >= ATTEMPTS || !isRetryable(error)) throw error;
      }
    }
  };
  const oneByOne = (records: readonly SourceDemographics[]) =>
    mapBounded(records, concurrency, async (d) => {
      try {
        return { outcome: await linkOne(d), problem: null };
      } catch (error) {
        const code = sqlState(error);
        if (!isDataError(code)) throw error;
        // The SQLSTATE only: PostgreSQL's message may quote the offending value.
        return {
          outcome: await linkOne(identityOnly(d.source, d.sourcePatientId)),
          problem: `${PROBLEMS.linkDataError} (SQLSTATE ${code})`,
        };
      }
    });
  return async (records) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return (await linkBatch(db, records, protection, options)).map((outcome) => ({ outcome, problem: null }));
      } catch (error) {
        const code = sqlState(error);
        if (isDataError(code) && !isRetryable(error)) return oneByOne(records);
        if (attempt >= ATTEMPTS || !isRetryable(error)) throw error;
      }
    }
  };
}

// ---------------------------------------------------------------------------------------------
// The pipeline: lines in, rows out in input order

export type BatchRow = {
  readonly line: number;
  readonly recordId: string;
  /** The source record id the store keeps (differs from recordId for records without a usable id). */
  readonly storedId: string;
  readonly goldenId: string;
  readonly decision: LinkState;
  readonly score: number | null;
  readonly created: boolean;
  readonly problems: readonly string[];
};

export type BatchSummary = {
  readonly records: number;
  readonly decisions: Readonly<Record<LinkState, number>>;
  /** Golden records this run created. */
  readonly created: number;
  readonly bad: number;
  /** Bad records by reason (the phrase without its parenthesis). */
  readonly problems: Readonly<Record<string, number>>;
  readonly quarantined: number;
  readonly elapsedMs: number;
};

export type BatchOptions = {
  readonly source: string;
  /** The source's configured identifier systems when it is a connection of config/connections.json (else the derived defaults). */
  readonly identifierSystems?: ConnectionConfig['identifierSystems'];
  readonly profile: VendorProfile;
  readonly protection: IdentifierProtection;
  /** Records in flight (1 = strictly one after another, in file order). */
  readonly concurrency?: number;
  /** Called once per record, in input order, as soon as the record and all before it are linked; awaited (backpressure). */
  readonly onRow?: (row: BatchRow) => void | Promise<void>;
  /** Today's date (YYYY-MM-DD) for the future-birth-date check; for tests. */
  readonly today?: string;
  /** Matching configuration (default: the deployment's, see defaultLinkConfig); the benchmarks pass a calibrated one. */
  readonly matching?: MatchingConfig;
};

type Input = { readonly line: number; readonly text: string };

/**
 * Links every non-blank line of `lines` and reports each record, in input order, through onRow.
 * Memory is bounded by the chunks in flight (two chunks of CHUNK_SIZE records), whatever the input
 * size. Blank lines are skipped (NDJSON allows them) but still count in line numbers.
 * A database failure rejects, after every chunk in flight has settled.
 */
export async function linkNdjson(
  db: Database,
  lines: AsyncIterable<string> | Iterable<string>,
  options: BatchOptions,
): Promise<BatchSummary> {
  const started = performance.now();
  const concurrency = Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY);
  // Two chunks in flight so the store never idles while the slowest record of a chunk finishes;
  // one when strict file order was asked for.
  const chunksInFlight = concurrency > 1 ? 2 : 1;
  // PGlite is one connection that runs one transaction at a time: records in flight would only queue.
  const perChunk = db.kind === 'pglite' ? 1 : Math.ceil(concurrency / chunksInFlight);
  const link = storeLinker(db, options.protection, perChunk, options.matching ? { matching: options.matching } : {});
  const today = options.today ?? new Date().toISOString().slice(0, 10);
  const scope = sourceScope({ id: options.source, identifierSystems: options.identifierSystems });

  const decisions: Record<LinkState, number> = { [LINK_STATES.MATCH]: 0, [LINK_STATES.POSSIBLE_MATCH]: 0, [LINK_STATES.NO_MATCH]: 0 };
  const problems: Record<string, number> = {};
  let records = 0,
    created = 0,
    bad = 0,
    quarantined = 0;

  const processChunk = async (chunk: readonly Input[]): Promise<BatchRow[]> => {
    const prepared: ReturnType<typeof prepareRecord>[] = [];
    for (const i of chunk) {
      // Turns of the event loop in between, so the chunk being linked meanwhile keeps its writes flowing.
      if (prepared.length % 100 === 99) await turn();
      prepared.push(prepareRecord(i.text, i.line, scope, options.profile, today));
    }
    const refused = prepared.flatMap((p) => (p.quarantine ? [p.quarantine] : []));
    // Quarantined before linking: if linking then fails, the refusal is on record anyway.
    await quarantine(db, refused, options.protection.sealPayload);
    quarantined += refused.length;
    const results = await link(prepared.map((p) => p.demographics));
    return prepared.map((p, i) => {
      const r = results[i]!;
      return {
        line: p.line,
        recordId: p.recordId,
        storedId: p.demographics.sourcePatientId,
        goldenId: r.outcome.goldenId,
        decision: r.outcome.decision,
        score: r.outcome.score,
        created: r.outcome.created,
        problems: r.problem ? [...p.problems, r.problem] : p.problems,
      };
    });
  };

  const pending: Promise<BatchRow[]>[] = [];
  const start = (chunk: readonly Input[]) => {
    const p = processChunk(chunk);
    p.catch(() => undefined); // awaited in order below; this only keeps a later chunk's failure from being "unhandled" meanwhile
    pending.push(p);
  };
  const flushOldest = async () => {
    for (const row of await pending.shift()!) {
      records++;
      decisions[row.decision]++;
      if (row.created) created++;
      if (row.problems.length > 0) {
        bad++;
        for (const p of row.problems) {
          const reason = p.replace(/ \(.*\)$/, '');
          problems[reason] = (problems[reason] ?? 0) + 1;
        }
      }
      await options.onRow?.(row);
    }
  };

  try {
    let chunk: Input[] = [];
    let line = 0;
    for await (const raw of lines) {
      line++;
      if (line % 100 === 0) await turn(); // a synchronous source (a generator) would otherwise hold the event loop for a whole chunk
      // A byte-order mark (Windows exports) is not part of the first record.
      const text = line === 1 ? raw.replace(/^\uFEFF/, '') : raw;
      if (text.trim() === '') continue;
      chunk.push({ line, text });
      if (chunk.length < CHUNK_SIZE) continue;
      start(chunk);
      chunk = [];
      while (pending.length >= chunksInFlight) await flushOldest();
    }
    if (chunk.length > 0) start(chunk);
    while (pending.length > 0) await flushOldest();
    // Statistics upkeep the load started still running counts in the load's time.
    await upkeepOf(db).settled();
  } catch (error) {
    await Promise.allSettled(pending);
    throw error;
  }
  return { records, decisions, created, bad, problems, quarantined, elapsedMs: performance.now() - started };
}
