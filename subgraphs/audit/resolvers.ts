// Audit subgraph resolvers: the audit log for the security role, filtered and paged newest first.
import type { Database } from '../../platform/db.ts';
import { auditEventPage, toFhirAuditEvent } from '../../orchestration/audit/query.ts';
import { hasRole } from '../../security/principal.ts';
import { badUserInput } from '../../platform/errors.ts';
import { cursorCodec, pageSize, text } from '../shared/arguments.ts';
import type { Resolvers } from './__generated__/resolvers.ts';

export const MAX_AUDIT_PAGE = 200;
const cursors = cursorCodec('audit', (seq) => /^\d{1,19}$/.test(seq));
function instant(value: string | null | undefined, argument: string): string | null {
  if (value === null || value === undefined) return null;
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/.test(value) || Number.isNaN(Date.parse(value)))
    throw badUserInput(`\`${argument}\` must be an ISO 8601 date or instant`, argument);
  return value;
}

export function auditResolvers({ db }: { readonly db: Database }): Resolvers {
  return {
    Query: {
      async auditEvents(_p, { patientId, actor, from, to, first, after }, ctx) {
        const size = pageSize(first, 50, MAX_AUDIT_PAGE);
        if (patientId != null && !/^[0-9a-f-]{36}$/i.test(patientId))
          throw badUserInput('`patientId` must be a golden patient id', 'patientId');
        text(actor, 'actor');
        const beforeSeq = after ? cursors.decode(after) : null;
        // Object-level check besides the field policy: only the security role reads the log.
        if (!hasRole(ctx.principal, 'security')) return { edges: [], pageInfo: { hasNextPage: false, endCursor: null }, totalCount: 0 };
        const page = await auditEventPage(
          db,
          { patientId: patientId?.toLowerCase(), actor, from: instant(from, 'from'), to: instant(to, 'to') },
          size,
          beforeSeq,
        );
        const edges = page.events.map((node) => ({ cursor: cursors.encode(node.seq), node }));
        return { edges, pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null }, totalCount: page.totalCount };
      },
    },
    AuditEvent: {
      fhir: (e) => JSON.stringify(toFhirAuditEvent(e)),
    },
  };
}
