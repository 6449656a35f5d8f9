// Security officers: who accessed a patient (auditEvents), newest first, paged with the API's cursors.
import { useState } from 'preact/hooks';
import { gql } from './api.ts';
import { Empty, Errors, fmtTime, Loading, Pager, useCursors, useLoad } from './ui.tsx';

type AuditRow = {
  seq: string;
  recordedAt: string;
  actorSub: string;
  actorRoles: string[];
  purposeOfUse: string | null;
  fields: string[];
  operationName: string | null;
  decision: string;
  subgraph: string;
};
type AuditAnswer = {
  auditEvents: {
    totalCount: number;
    totalCountExact: boolean;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
    edges: { node: AuditRow }[];
  };
};

const QUERY = `query PatientAccess($patientId: ID, $after: String) {
  auditEvents(patientId: $patientId, first: 50, after: $after) {
    totalCount totalCountExact pageInfo { hasNextPage endCursor }
    edges { node { seq recordedAt actorSub actorRoles purposeOfUse fields operationName decision subgraph } } } }`;

export function AuditPage({ patientId }: { patientId: string | null }) {
  const [input, setInput] = useState(patientId ?? '');
  const paging = useCursors();
  const after = paging.after;
  const res = useLoad(
    async () => (patientId ? (await gql<AuditAnswer>(QUERY, { patientId, after })).data.auditEvents : null),
    [patientId, after],
  );
  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Who accessed a patient</h1>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          paging.reset();
          location.hash = `#/audit/${input.trim()}`;
        }}
      >
        <label>
          Golden patient id
          <input type="text" value={input} size={38} onInput={(e) => setInput((e.target as HTMLInputElement).value)} />
        </label>
        <button type="submit" disabled={!input.trim()}>
          Show accesses
        </button>
      </form>
      <Errors errors={res.errors} />
      {patientId && res.loading && <Loading what="the audit trail" />}
      {res.data &&
        (res.data.edges.length === 0 ? (
          <Empty>No access recorded.</Empty>
        ) : (
          <>
            <p class="count">
              <strong>{res.data.totalCount}</strong>
              {res.data.totalCountExact ? '' : '+'} audit rows
            </p>
            <table class="audit">
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Who</th>
                  <th scope="col">Roles</th>
                  <th scope="col">Purpose</th>
                  <th scope="col">Operation</th>
                  <th scope="col">Fields</th>
                  <th scope="col">Decision</th>
                </tr>
              </thead>
              <tbody>
                {res.data.edges.map(({ node: r }) => (
                  <tr key={r.seq} class={r.decision === 'deny' ? 'differs' : undefined}>
                    <td>{fmtTime(r.recordedAt)}</td>
                    <td class="mono">{r.actorSub}</td>
                    <td>{r.actorRoles.join(', ')}</td>
                    <td>{r.purposeOfUse ?? '—'}</td>
                    <td>{r.operationName ?? '—'}</td>
                    <td class="fields">{r.fields.join(', ')}</td>
                    <td>{r.decision}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <Pager paging={paging} pageInfo={res.data.pageInfo} labels={['Newer', 'Older']} />
          </>
        ))}
    </section>
  );
}
