// Audit subgraph resolvers: the audit log for the security role, filtered and paged newest first.
import { GraphQLError } from 'graphql';
import type { Database } from '../../platform/db.ts';
import { auditEventPage, toFhirAuditEvent } from '../../orchestration/audit/query.ts';
import { hasRole } from '../../security/principal.ts';
import type { Resolvers } from './__generated__/resolvers.ts';

export const MAX_AUDIT_PAGE = 200;
const badInput = (message: string, argument: string): GraphQLError => new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', argument } });
const encodeCursor = (seq: string): string => Buffer.from(`audit:${seq}`).toString('base64url');
function decodeCursor(cursor: string): string {
  const seq = /^audit:(\d{1,19})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'))?.[1];
  if (!seq) throw badInput('`after` is not a cursor returned by this API', 'after');
  return seq;
}
function instant(value: string | null | undefined, argument: string): string | null {
  if (value === null || value === undefined) return null;
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/.test(value) || Number.isNaN(Date.parse(value))) throw badInput(`\`${argument}\` must be an ISO 8601 date or instant`, argument);
  return value;
}

export function auditResolvers({ db }: { readonly db: Database }): Resolvers {
  return {
    Query: {
      async auditEvents(_p, { patientId, actor, from, to, first, after }, ctx) {
        const size = first ?? 50;
        if (!Number.isInteger(size) || size < 0 || size > MAX_AUDIT_PAGE) throw badInput(`\`first\` must be between 0 and ${MAX_AUDIT_PAGE}`, 'first');
        if (patientId != null && !/^[0-9a-f-]{36}$/i.test(patientId)) throw badInput('`patientId` must be a golden patient id', 'patientId');
        if (actor != null && (actor.length > 256 || /[\u0000-\u001f]/.test(actor))) throw badInput('`actor` must be at most 256 printable characters', 'actor');
        const beforeSeq = after ? decodeCursor(after) : null;
        // Object-level check besides the field policy: only the security role reads the log.
        if (!hasRole(ctx.principal, 'security')) return { edges: [], pageInfo: { hasNextPage: false, endCursor: null }, totalCount: 0 };
        const page = await auditEventPage(db, { patientId: patientId?.toLowerCase(), actor, from: instant(from, 'from'), to: instant(to, 'to') }, size, beforeSeq);
        const edges = page.events.map((node) => ({ cursor: encodeCursor(node.seq), node }));
        return { edges, pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null }, totalCount: page.totalCount };
      },
    },
    AuditEvent: {
      fhir: (e) => JSON.stringify(toFhirAuditEvent(e)),
    },
  };
}
