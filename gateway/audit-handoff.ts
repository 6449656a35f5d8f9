// The gateway's half of the audit hand-off (orchestration/audit/handoff.ts): subgraph calls hand
// their rows to the client request's collector; this plugin appends them all in one audit_append()
// (grouped with concurrent requests) before the response leaves, and answers AUDIT_UNAVAILABLE
// with no data when it cannot.
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { appendAuditRows } from '../orchestration/audit/audit-log.ts';
import type { HandoffCollector } from '../orchestration/audit/handoff.ts';
import type { Queryable } from '../platform/db.ts';
import { formatProductError, ProductError } from '../platform/errors.ts';
import { logger } from '../platform/log.ts';

const log = logger('gateway');

export const auditUnavailable = (): ProductError => new ProductError('AUDIT_UNAVAILABLE', 'audit log unavailable; no data returned');

export function auditHandoffPlugin<C extends BaseContext & { readonly audit?: HandoffCollector }>(db: Queryable): ApolloServerPlugin<C> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ contextValue, response }) {
          const rows = contextValue.audit?.rows() ?? [];
          if (rows.length === 0) return;
          try {
            await appendAuditRows(db, rows);
          } catch (error) {
            log.error('audit_write_failed', { error: error instanceof ProductError ? error.code : (error as Error).name });
            // Whatever the subgraphs answered stays here: the client gets the reason and no data.
            response.body = { kind: 'single', singleResult: { errors: [formatProductError(auditUnavailable())] } };
          }
        },
      };
    },
  };
}
