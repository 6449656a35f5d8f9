// HTTP plumbing for the simulated EHRs: responses, OperationOutcomes, bodies, absolute origins.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { OperationOutcome } from '../fhir-types.ts';

export const FHIR_JSON = 'application/fhir+json; charset=utf-8';
export const JSON_UTF8 = 'application/json; charset=utf-8';
const MAX_BODY_BYTES = 1_000_000;

export function send(
  res: ServerResponse,
  status: number,
  body: string | Buffer,
  contentType: string,
  headers: Readonly<Record<string, string>> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': typeof body === 'string' ? Buffer.byteLength(body) : body.length,
    ...headers,
  });
  res.end(body);
}

export const outcome = (code: string, diagnostics: string): OperationOutcome => ({
  resourceType: 'OperationOutcome',
  issue: [{ severity: 'error', code, diagnostics }],
});

export function sendOutcome(
  res: ServerResponse,
  status: number,
  code: string,
  diagnostics: string,
  headers: Readonly<Record<string, string>> = {},
): void {
  send(res, status, JSON.stringify(outcome(code, diagnostics)), FHIR_JSON, headers);
}

export class BodyTooLarge extends Error {}

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new BodyTooLarge('request body too large'));
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/**
 * The origin the client addressed (Host header), so absolute URLs in answers work on loopback and
 * behind a compose service name alike; the bound origin when the header is absent or odd.
 */
export const requestOrigin = (req: IncomingMessage, fallback: string): string => {
  const host = req.headers.host;
  return host && HOST.test(host) ? `http://${host}` : fallback;
};

/** `application/x-www-form-urlencoded` (parameters may follow, e.g. `; charset=UTF-8`). */
export const isForm = (req: IncomingMessage): boolean =>
  /^application\/x-www-form-urlencoded\s*(;|$)/i.test(req.headers['content-type'] ?? '');
