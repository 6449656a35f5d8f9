// Audit subgraph resolvers: the audit log for the security role, filtered and paged newest first,
// counted only when the client asks for the count.
import type { Database } from '../../platform/db.ts';
import { auditEventCount, auditEventPage, toFhirAuditEvent, withTrail } from '../../orchestration/audit/query.ts';
import { hasRole } from '../../security/principal.ts';
import { badUserInput } from '../../platform/errors.ts';
import { cursorCodec, instant, pageSize, selects, text } from '../shared/arguments.ts';
import type { Resolvers } from './__generated__/resolvers.ts';

export const MAX_AUDIT_PAGE = 200;
// `<seq>` or `<seq>.<recorded_at in epoch ms>`: the time only narrows the search (older cursors carry none).
const cursors = cursorCodec('audit', (key) => /^\d{1,19}(\.\d{1,15})?$/.test(key));
const decodeCursor = (after: string) => {
  const [seq, ms] = cursors.decode(after).split('.');
  return { seq: seq!, recordedAt: ms ? new Date(Number(ms)).toISOString() : null };
};

const COUNT_FIELDS: ReadonlySet<string> = new Set(['totalCount', 'totalCountExact']);

export function auditResolvers({ db }: { readonly db: Database }): Resolvers {
  return {
    Query: {
      async auditEvents(_p, { patientId, actor, from, to, first, after }, ctx, info) {
        const size = pageSize(first, 50, MAX_AUDIT_PAGE);
        if (patientId != null && !/^[0-9a-f-]{36}$/i.test(patientId))
          throw badUserInput('`patientId` must be a golden patient id', 'patientId');
        text(actor, 'actor');
        const before = after ? decodeCursor(after) : null;
        // Object-level check besides the field policy: only the security role reads the log.
        if (!hasRole(ctx.principal, 'security'))
          return { edges: [], pageInfo: { hasNextPage: false, endCursor: null }, totalCount: 0, totalCountExact: true };
        const filter = await withTrail(db, {
          patientId: patientId?.toLowerCase(),
          actor,
          from: instant(from, 'from'),
          to: instant(to, 'to'),
        });
        // Counting costs more than a page: only when asked (a field not selected is never read).
        const wanted = selects(info, COUNT_FIELDS);
        const [page, count] = await Promise.all([
          auditEventPage(db, filter, size, before),
          wanted ? auditEventCount(db, filter) : { count: 0, exact: false },
        ]);
        const edges = page.events.map((node) => ({ cursor: cursors.encode(`${node.seq}.${Date.parse(node.recordedAt)}`), node }));
        return {
          edges,
          pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null },
          totalCount: count.count,
          totalCountExact: count.exact,
        };
      },
    },
    AuditEvent: {
      fhir: (e) => JSON.stringify(toFhirAuditEvent(e)),
    },
  };
}
