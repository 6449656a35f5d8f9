// Serves one file over node:http with what resumable downloads need (RFC 9110): Accept-Ranges,
// a strong ETag, single byte ranges (206, or 416 with the size when none of it exists), If-Range
// (a range only of the same version, the whole file otherwise), If-None-Match (304) and HEAD.
// Several ranges in one request are answered with the whole file (allowed by RFC 9110 14.2).
import { createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';

export type ServedFile = {
  readonly path: string;
  readonly size: number;
  /** A strong ETag, quoted. */
  readonly etag: string;
  readonly contentType: string;
  readonly headers?: Readonly<Record<string, string>>;
};

/** The byte range a Range header asks for: [start, end] inclusive; 'all' when there is none to honour; null when unsatisfiable. */
export function byteRange(header: string | undefined, size: number): { start: number; end: number } | 'all' | null {
  // Absent, another unit, several ranges or not a range at all: ignored (the whole file), as RFC 9110 allows.
  const m = /^bytes=(\d*)-(\d*)$/.exec(header?.trim() ?? '');
  if (!m || (m[1] === '' && m[2] === '')) return 'all';
  const [from, to] = [m[1]!, m[2]!];
  if (from === '') {
    // The last `to` bytes.
    const n = Number(to);
    return n === 0 || size === 0 ? null : { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(from);
  const end = to === '' ? size - 1 : Math.min(Number(to), size - 1);
  return start >= size || end < start ? null : { start, end };
}

const matches = (header: string | undefined, etag: string): boolean =>
  header !== undefined && header.split(',').some((t) => t.trim() === etag || t.trim() === '*');

export async function serveFile(req: IncomingMessage, res: ServerResponse, f: ServedFile): Promise<void> {
  const common = { 'accept-ranges': 'bytes', etag: f.etag, 'cache-control': 'private, no-store', ...f.headers };
  if (matches(req.headers['if-none-match'], f.etag)) {
    res.writeHead(304, common);
    res.end();
    return;
  }
  const ifRange = req.headers['if-range'];
  // If-Range with another version (or a date: we keep no modification time to compare): the whole file.
  const range = ifRange !== undefined && ifRange !== f.etag ? 'all' : byteRange(req.headers.range, f.size);
  if (range === null) {
    res.writeHead(416, { ...common, 'content-range': `bytes */${f.size}`, 'content-length': 0 });
    res.end();
    return;
  }
  const whole = range === 'all';
  const start = whole ? 0 : range.start;
  const end = whole ? f.size - 1 : range.end;
  res.writeHead(whole ? 200 : 206, {
    ...common,
    'content-type': f.contentType,
    'content-length': String(Math.max(0, end - start + 1)),
    ...(whole ? {} : { 'content-range': `bytes ${start}-${end}/${f.size}` }),
  });
  if (req.method === 'HEAD' || f.size === 0) {
    res.end();
    return;
  }
  await pipeline(createReadStream(f.path, { start, end }), res);
}
