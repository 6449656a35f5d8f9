// Downloads of cohort exports: `/exports/<job id>/<file>` on the MPI subgraph, reached through
// the gateway's same path with the requester's bearer token (the gateway relays it with an
// identity signed for this method and path). Only the requester gets a file; anyone else gets
// 404, as for a job that does not exist; after expiry 410. Each download is audited before a byte
// leaves (the export job's own rows name the patients the files hold).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { writeAuditEvents } from '../../orchestration/audit/audit-log.ts';
import { exportDownload } from '../../orchestration/cohort/export.ts';
import type { Database } from '../../platform/db.ts';
import { conflict, notFound, ProductError } from '../../platform/errors.ts';
import { serveFile } from '../../platform/file-ranges.ts';
import { mayAccessPatients } from '../../policies/object-access.ts';
import type { Principal } from '../../security/principal.ts';
import type { SubgraphRoute } from '../shared/subgraph-server.ts';

export const EXPORTS_PREFIX = '/exports/';
const PATH = /^\/exports\/([0-9a-f-]{36})\/([A-Za-z]+\.ndjson|manifest\.json)$/;

export function exportDownloadRoute(db: Database, dir: string): SubgraphRoute {
  return {
    prefix: EXPORTS_PREFIX,
    async handle(req: IncomingMessage, res: ServerResponse, principal: Principal, path: string) {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' });
        res.end();
        return;
      }
      const m = PATH.exec(path);
      const found =
        m && mayAccessPatients(principal) && principal.patientContext === null
          ? await exportDownload(db, dir, principal.sub, m[1]!, m[2]!)
          : ({ kind: 'not-found' } as const);
      if (found.kind === 'not-found') throw notFound('no such export file');
      if (found.kind === 'gone') throw new ProductError('GONE', 'this export has expired: export the cohort again');
      if (found.kind === 'not-ready') throw conflict(`the export is ${found.status}, not completed`);
      // Before any byte: no audit row, no download (fail closed).
      try {
        await writeAuditEvents(
          db,
          { principal, subgraph: 'mpi', operationName: 'exportDownload', outcome: 'success' },
          [
            {
              patientRef: `CohortExport/${found.job.id}`,
              fields: [`${req.method} ${found.file.name}`, `range=${String(req.headers.range ?? 'all').slice(0, 60)}`],
              rules: ['exportRequester'],
            },
          ],
          [],
        );
      } catch {
        throw new ProductError('AUDIT_UNAVAILABLE', 'audit log unavailable; no data returned');
      }
      await serveFile(req, res, {
        path: found.path,
        size: found.file.bytes,
        etag: found.file.etag,
        contentType: found.file.name.endsWith('.ndjson') ? 'application/fhir+ndjson' : 'application/json',
        headers: { expires: new Date(found.job.expiresAt ?? Date.now()).toUTCString() },
      });
    },
  };
}
