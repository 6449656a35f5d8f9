// Patient view: the golden record with per-field provenance, its source records, the link history
// as a timeline, merges and redirects; and search by name, birth date or identifier. Every field goes
// through the API's policies: what a role may not see comes back null with FORBIDDEN, shown as such.
import { useState } from 'preact/hooks';
import { gql, gqlAction } from './api.ts';
import { displayName, PATIENT_FIELDS, type Patient } from './patient-fields.ts';
import { hasRole } from './session.ts';
import { Empty, Errors, fmtScore, fmtTime, Loading, useConfirmedAction, useLoad } from './ui.tsx';

type Detail = Patient & {
  provenance: { field: string; rule: string; sourceRecordIds: string[]; setBy: string | null; setAt: string | null }[] | null;
  links: { sourceRecordId: string; source: string; state: string; origin: string; score: number | null; linkedAt: string }[] | null;
  linkHistory:
    | {
        at: string;
        sourceRecordId: string;
        patientId: string;
        previousPatientId: string | null;
        action: string;
        state: string;
        actor: string;
        reason: string | null;
      }[]
    | null;
};

const DETAIL = `query PatientView($id: ID!) { patient(id: $id) { ${PATIENT_FIELDS}
  provenance { field rule sourceRecordIds setBy setAt }
  links { sourceRecordId source state origin score linkedAt }
  linkHistory { at sourceRecordId patientId previousPatientId action state actor reason } } }`;

export function PatientView({ id }: { id: string }) {
  const view = useLoad(() => gql<{ patient: Detail | null }>(DETAIL, { id }), [id]);
  const action = useConfirmedAction(view.reload);
  const p = view.data?.data.patient;
  return (
    <section aria-labelledby="patient-title">
      <h1 id="patient-title">
        Patient <span class="mono">{id}</span>
      </h1>
      {action.outcome}
      <Errors errors={view.errors} />
      {view.loading && !view.data && <Loading what="the patient" />}
      {view.data && <Errors errors={view.data.errors} />}
      {view.data && !p && <Empty>No patient with this id is visible to you.</Empty>}
      {p && (
        <>
          {p.redirectedFrom && (
            <p class="notice">
              {p.redirectedFrom} was merged into <a href={`#/patient/${p.id}`}>{p.id}</a>.{' '}
              {hasRole('steward') && (
                <button
                  type="button"
                  onClick={() =>
                    action.confirm({
                      title: 'Undo the merge?',
                      description: `${p.redirectedFrom} gets its records back; review items the merge closed reopen.`,
                      confirmLabel: 'Unmerge',
                      run: (reason) =>
                        gqlAction(
                          `mutation UnmergePatient($p: ID!, $reason: String!) { unmergePatient(patientId: $p, reason: $reason) { changed } }`,
                          { p: p.redirectedFrom, reason },
                          'Unmerged.',
                        ),
                    })
                  }
                >
                  Unmerge
                </button>
              )}
            </p>
          )}
          <dl class="golden">
            <dt>Name</dt>
            <dd>{displayName(p)}</dd>
            <dt>Birth date</dt>
            <dd>{p.birthDate ?? '—'}</dd>
            <dt>Gender</dt>
            <dd>{p.gender ?? '—'}</dd>
            <dt>Identifiers</dt>
            <dd>{p.identifiers?.map((i) => `${i.system.split('/').at(-1)}: ${i.value}`).join('; ') || '—'}</dd>
            <dt>Status</dt>
            <dd>{p.provisional ? 'Provisional' : 'Confirmed'}</dd>
          </dl>
          <h2>Provenance</h2>
          {p.provenance?.length ? (
            <table>
              <thead>
                <tr>
                  <th scope="col">Field</th>
                  <th scope="col">Rule</th>
                  <th scope="col">From</th>
                </tr>
              </thead>
              <tbody>
                {p.provenance.map((f) => (
                  <tr key={f.field}>
                    <th scope="row">{f.field}</th>
                    <td>{f.rule}</td>
                    <td class="mono">{f.setBy ? `${f.setBy}, ${fmtTime(f.setAt)}` : f.sourceRecordIds.join(', ')}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <Empty>No provenance shown.</Empty>
          )}
          <h2>Source records</h2>
          {p.links?.length ? (
            <table>
              <thead>
                <tr>
                  <th scope="col">Record</th>
                  <th scope="col">State</th>
                  <th scope="col">Origin</th>
                  <th scope="col" class="num">
                    Score
                  </th>
                  <th scope="col">Linked</th>
                </tr>
              </thead>
              <tbody>
                {p.links.map((l) => (
                  <tr key={l.sourceRecordId}>
                    <th scope="row" class="mono">
                      {l.sourceRecordId}
                    </th>
                    <td>{l.state}</td>
                    <td>{l.origin}</td>
                    <td class="num">{fmtScore(l.score)}</td>
                    <td>{fmtTime(l.linkedAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <Empty>No source records shown.</Empty>
          )}
          <h2>Link history</h2>
          {p.linkHistory?.length ? (
            <ol class="timeline">
              {p.linkHistory.map((e, i) => (
                <li key={i}>
                  <time dateTime={e.at}>{fmtTime(e.at)}</time> <strong>{e.action}</strong> <span class="mono">{e.sourceRecordId}</span> →{' '}
                  {e.state}
                  {e.previousPatientId && e.previousPatientId !== e.patientId && (
                    <>
                      {' '}
                      (from <a href={`#/patient/${e.previousPatientId}`}>{e.previousPatientId.slice(0, 8)}</a>)
                    </>
                  )}{' '}
                  by {e.actor}
                  {e.reason && <q>{e.reason}</q>}
                </li>
              ))}
            </ol>
          ) : (
            <Empty>No link history shown.</Empty>
          )}
          {hasRole('security') && <a href={`#/audit/${p.id}`}>Who accessed this patient</a>}
        </>
      )}
      {action.dialog}
    </section>
  );
}

type Found = { id: string; name: Patient['name']; birthDate: string | null; gender: string | null };
const SEARCH_FIELDS = 'id name { family given } birthDate gender';

/**
 * Search by name (family name prefix, optionally a given name and birth date: findPatients), by
 * identifier (patientsByIdentifier) or by birth date alone (the patients filter).
 */
export function Search() {
  const [form, setForm] = useState({ family: '', given: '', birthDate: '', system: 'http://hl7.org/fhir/sid/us-ssn', value: '' });
  const [query, setQuery] = useState<typeof form | null>(null);
  const found = useLoad(async () => {
    if (!query) return null;
    if (query.value) {
      const { data, errors } = await gql<{ patientsByIdentifier: Found[] }>(
        `query FindByIdentifier($s: String!, $v: String!) { patientsByIdentifier(system: $s, value: $v) { ${SEARCH_FIELDS} } }`,
        { s: query.system, v: query.value },
      );
      return { list: data.patientsByIdentifier, errors };
    }
    if (query.family) {
      const { data, errors } = await gql<{ findPatients: Found[] }>(
        `query FindByName($f: String!, $g: String, $d: String) { findPatients(family: $f, given: $g, birthDate: $d, first: 50) { ${SEARCH_FIELDS} } }`,
        { f: query.family, g: query.given || null, d: query.birthDate || null },
      );
      return { list: data.findPatients, errors };
    }
    const { data, errors } = await gql<{ patients: { edges: { node: Found }[] } }>(
      `query FindByBirthDate($d: String!) { patients(first: 50, filter: { birthDateFrom: $d, birthDateTo: $d }) { edges { node { ${SEARCH_FIELDS} } } } }`,
      { d: query.birthDate },
    );
    return { list: data.patients.edges.map((e) => e.node), errors };
  }, [query]);
  const set = (k: keyof typeof form) => (e: Event) => setForm({ ...form, [k]: (e.target as HTMLInputElement).value });
  return (
    <section aria-labelledby="search-title">
      <h1 id="search-title">Find a patient</h1>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setQuery({ ...form });
        }}
      >
        <label>
          Family name starts with
          <input type="text" value={form.family} onInput={set('family')} autoComplete="off" />
        </label>
        <label>
          Given name starts with
          <input type="text" value={form.given} onInput={set('given')} autoComplete="off" />
        </label>
        <label>
          Birth date
          <input type="date" value={form.birthDate} onInput={set('birthDate')} />
        </label>
        <label>
          Identifier system
          <input type="text" value={form.system} onInput={set('system')} size={32} />
        </label>
        <label>
          Identifier value
          <input type="text" value={form.value} onInput={set('value')} autoComplete="off" />
        </label>
        <button type="submit" disabled={!form.birthDate && !form.value && !form.family}>
          Search
        </button>
      </form>
      <Errors errors={found.errors} />
      {query && found.loading && <Loading what="patients" />}
      {found.data && <Errors errors={found.data.errors} />}
      {found.data &&
        (found.data.list.length === 0 ? (
          <Empty>No patient found.</Empty>
        ) : (
          <ul class="results">
            {found.data.list.map((f) => (
              <li key={f.id}>
                <a href={`#/patient/${f.id}`}>{displayName({ ...f } as Patient)}</a> · {f.birthDate ?? '—'} · {f.gender ?? '—'}
              </li>
            ))}
          </ul>
        ))}
    </section>
  );
}
