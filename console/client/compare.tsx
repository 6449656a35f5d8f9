// Compare: the pair a review item holds, side by side field by field, with each field's comparison
// level and weight and the reason the matcher held it; differences highlighted. Actions (link,
// mark not duplicate, merge, unmerge, set a golden field) each go through a confirmation and show
// the API's refusal as it is (FORBIDDEN, CONFLICT when the data changed meanwhile, ...).
import { gql, gqlAction } from './api.ts';
import { displayName, fieldValue, PATIENT_FIELDS, type Patient } from './patient-fields.ts';
import { knownItems } from './queue.tsx';
import { Empty, Errors, fmtScore, Loading, useConfirmedAction, useLoad, type PendingAction } from './ui.tsx';

type Pair = { left: Patient | null; right: Patient | null };
const PAIR = `query ComparePair($left: ID!, $right: ID!) { left: patient(id: $left) { ${PATIENT_FIELDS} } right: patient(id: $right) { ${PATIENT_FIELDS} } }`;

/** Golden fields a steward may set from the other side's value (setPatientFields). */
const SETTABLE: Record<string, (p: Patient) => Record<string, unknown> | null> = {
  birth_date: (p) => (p.birthDate ? { birthDate: p.birthDate } : null),
  gender: (p) => (p.gender ? { gender: p.gender } : null),
  family: (p) => (p.name ? { name: { family: p.name.family, given: p.name.given } } : null),
  given: (p) => (p.name ? { name: { family: p.name.family, given: p.name.given } } : null),
};

export function Compare({ itemId }: { itemId: string }) {
  const item = knownItems.get(itemId);
  const leftId = item?.patient?.id;
  const rightId = item?.candidate?.id;
  const pair = useLoad(async () => (leftId && rightId ? await gql<Pair>(PAIR, { left: leftId, right: rightId }) : null), [leftId, rightId]);
  const confirmed = useConfirmedAction(pair.reload);
  if (!item) return <Empty>This review item is not loaded: open it from the review queue.</Empty>;
  if (!leftId || !rightId) return <Errors errors={[{ code: 'FORBIDDEN', message: 'the pair is not visible to you' }]} />;
  const left = pair.data?.data.left ?? null;
  const right = pair.data?.data.right ?? null;
  // patient(mergedId) answers with the survivor: the left side was merged into the right.
  const merged = left?.redirectedFrom === leftId;
  const act = confirmed.confirm;
  const actions: { label: string; action: PendingAction; show: boolean }[] = [
    {
      label: 'Link record',
      show: !merged && item.kind === 'POSSIBLE_MATCH' && item.record !== null,
      action: {
        title: 'Link this record to the candidate?',
        description: `Record ${item.record?.id} joins golden patient ${rightId}. It can be unlinked later.`,
        confirmLabel: 'Link',
        run: (reason) =>
          gqlAction(
            `mutation LinkRecord($r: ID!, $p: ID!, $reason: String!) { linkRecord(sourceRecordId: $r, patientId: $p, reason: $reason) { changed } }`,
            { r: item.record?.id, p: rightId, reason },
            'Linked.',
          ),
      },
    },
    {
      label: 'Merge into candidate',
      show: !merged,
      action: {
        title: 'Merge the left patient into the candidate?',
        description: `Every record of ${leftId} moves to ${rightId}; ${leftId} then redirects to it. A merge can be undone (unmerge).`,
        confirmLabel: 'Merge',
        run: (reason) =>
          gqlAction(
            `mutation MergePatients($s: ID!, $m: ID!, $reason: String!) { mergePatients(survivorId: $s, mergedId: $m, reason: $reason) { changed movedRecords } }`,
            { s: rightId, m: leftId, reason },
            'Merged.',
          ),
      },
    },
    {
      label: 'Not duplicate',
      show: !merged,
      action: {
        title: 'Mark these two as different people?',
        description: `${leftId} and ${rightId} will never be proposed as a pair again.`,
        confirmLabel: 'Mark not duplicate',
        run: (reason) =>
          gqlAction(
            `mutation MarkNotDuplicate($a: ID!, $b: ID!, $reason: String!) { markNotDuplicate(patientId: $a, otherPatientId: $b, reason: $reason) { changed } }`,
            { a: leftId, b: rightId, reason },
            'Marked as different people.',
          ),
      },
    },
    {
      label: 'Unmerge',
      show: merged,
      action: {
        title: 'Undo the merge?',
        description: `${leftId} gets its records back (and those linked since through them); review items the merge closed reopen.`,
        confirmLabel: 'Unmerge',
        run: (reason) =>
          gqlAction(
            `mutation UnmergePatient($p: ID!, $reason: String!) { unmergePatient(patientId: $p, reason: $reason) { changed movedRecords } }`,
            { p: leftId, reason },
            'Unmerged.',
          ),
      },
    },
  ];
  return (
    <section aria-labelledby="compare-title">
      <h1 id="compare-title">Compare pair</h1>
      <p class="reason">
        <span class="badge">{item.matchReason.code}</span> {item.matchReason.description} Score <strong>{fmtScore(item.score)}</strong>
        {' · '}
        {item.kind === 'POSSIBLE_MATCH' ? `record ${item.record?.id ?? '—'} against a golden patient` : 'two golden patients'}
      </p>
      {confirmed.outcome}
      <Errors errors={pair.errors} />
      {pair.loading && !pair.data && <Loading what="both records" />}
      {pair.data && (
        <>
          <Errors errors={pair.data.errors} />
          {merged && <p class="notice">The left patient has been merged into the candidate: it now redirects to {right?.id}.</p>}
          <table class="compare">
            <caption class="visually-hidden">Field by field comparison</caption>
            <thead>
              <tr>
                <th scope="col">Field</th>
                <th scope="col">
                  {item.kind === 'POSSIBLE_MATCH' ? 'Incoming record' : 'Patient'} <span class="mono">{leftId.slice(0, 8)}</span>
                </th>
                <th scope="col">
                  Candidate <span class="mono">{rightId.slice(0, 8)}</span>
                </th>
                <th scope="col">Level</th>
                <th scope="col" class="num">
                  Weight
                </th>
                <th scope="col">
                  <span class="visually-hidden">Set golden field</span>
                </th>
              </tr>
            </thead>
            <tbody>
              <tr>
                <th scope="row">name</th>
                <td>{displayName(left)}</td>
                <td>{displayName(right)}</td>
                <td colSpan={3} />
              </tr>
              {item.evidence.map((e) => {
                const a = fieldValue(e.field, left);
                const b = fieldValue(e.field, right);
                const differs = a !== b;
                const settable = !merged && left ? SETTABLE[e.field]?.(left) : null;
                return (
                  <tr key={e.field} class={differs ? 'differs' : undefined}>
                    <th scope="row">
                      {e.field}
                      {differs && <span class="visually-hidden"> (differs)</span>}
                    </th>
                    <td>{a ?? '—'}</td>
                    <td>{b ?? '—'}</td>
                    <td>{e.level}</td>
                    <td class={`num ${e.weight < 0 ? 'negative' : 'positive'}`}>{e.weight.toFixed(2)}</td>
                    <td>
                      {differs && settable && (
                        <button
                          type="button"
                          class="link"
                          onClick={() =>
                            act({
                              title: `Set the candidate's ${e.field}?`,
                              description: `The candidate's golden ${e.field} takes the left value by hand; it wins over survivorship until cleared.`,
                              confirmLabel: 'Set field',
                              run: (reason) =>
                                gqlAction(
                                  `mutation SetPatientFields($p: ID!, $f: PatientFieldsInput!, $reason: String!) { setPatientFields(patientId: $p, fields: $f, reason: $reason) { changed changedFields } }`,
                                  { p: rightId, f: settable, reason },
                                  `Set the candidate's ${e.field}.`,
                                ),
                            })
                          }
                        >
                          Use left on candidate
                        </button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          <div class="actions" role="group" aria-label="Decision">
            {actions
              .filter((a) => a.show)
              .map((a) => (
                <button key={a.label} type="button" onClick={() => act(a.action)}>
                  {a.label}
                </button>
              ))}
            <a class="button secondary" href={`#/patient/${rightId}`}>
              Open candidate
            </a>
            <a class="button secondary" href="#/queue">
              Back to queue
            </a>
          </div>
        </>
      )}
      {confirmed.dialog}
    </section>
  );
}
