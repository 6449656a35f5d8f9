// The gateway's half of the audit hand-off (orchestration/audit/handoff.ts, which runtime/ passes in
// as an AuditHandoffSink): subgraph calls hand their rows to the client request's collector; this
// plugin appends them all in one call (grouped with concurrent requests) before the response
// leaves, and answers AUDIT_UNAVAILABLE with no data when it cannot.
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { formatProductError, ProductError } from '../platform/errors.ts';
import { logger } from '../platform/log.ts';

/** The call a subgraph's rows must name. */
export type HandoffCall = { readonly nonce: string; readonly subgraph: string; readonly requestId: string; readonly actorSub: string };

/** What the gateway needs of the audit log to append the rows its subgraph calls hand over. */
export type AuditHandoffSink = {
  /** A fresh, unguessable nonce for one subgraph call (signed into its identity). */
  nonce(): string;
  /** Whether an answer's extensions carry handed-over rows at all. */
  carries(extensions: Readonly<Record<string, unknown>> | undefined): boolean;
  /** The rows an answer hands over for this call, and its extensions without them; throws when they are missing or not this call's. */
  take(
    extensions: Readonly<Record<string, unknown>> | undefined,
    call: HandoffCall,
  ): { readonly rows: readonly object[]; readonly extensions: Record<string, unknown> };
  /** Appends a client request's rows; resolves once they are committed. */
  append(rows: readonly object[]): Promise<unknown>;
};

/** The rows a client request's subgraph calls handed over, appended together before the response leaves. */
export type HandoffCollector = { add(rows: readonly object[]): void; rows(): readonly object[] };

export function handoffCollector(): HandoffCollector {
  const all: object[] = [];
  return { add: (rows) => void all.push(...rows), rows: () => all };
}

const log = logger('gateway');

export const auditUnavailable = (): ProductError => new ProductError('AUDIT_UNAVAILABLE', 'audit log unavailable; no data returned');

export function auditHandoffPlugin<C extends BaseContext & { readonly audit?: HandoffCollector }>(
  sink: AuditHandoffSink,
): ApolloServerPlugin<C> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ contextValue, response }) {
          const rows = contextValue.audit?.rows() ?? [];
          if (rows.length === 0) return;
          try {
            await sink.append(rows);
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
