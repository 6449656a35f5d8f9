// Range requests against a real HTTP server on loopback: whole file, a range, a suffix, resume
// from an offset, If-Range with a stale ETag (whole file), If-None-Match (304), unsatisfiable (416).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { byteRange, serveFile } from './file-ranges.ts';

const dir = mkdtempSync(join(tmpdir(), 'ranges-'));
const body = Buffer.from(Array.from({ length: 1000 }, (_, i) => String.fromCharCode(97 + (i % 26))).join(''));
const file = join(dir, 'f.ndjson');
writeFileSync(file, body);
const etag = '"v1"';
let server: Server;
let url: string;
before(async () => {
  server = createServer(
    (req, res) => void serveFile(req, res, { path: file, size: body.length, etag, contentType: 'application/fhir+ndjson' }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
after(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

const get = async (headers: Record<string, string> = {}, method = 'GET') => {
  const res = await fetch(url, { headers, method });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
};

test('byteRange reads single ranges and ignores what it need not honour', () => {
  assert.deepEqual(byteRange('bytes=0-9', 100), { start: 0, end: 9 });
  assert.deepEqual(byteRange('bytes=90-', 100), { start: 90, end: 99 });
  assert.deepEqual(byteRange('bytes=-10', 100), { start: 90, end: 99 });
  assert.deepEqual(byteRange('bytes=95-200', 100), { start: 95, end: 99 });
  assert.equal(byteRange('bytes=100-', 100), null);
  assert.equal(byteRange('bytes=5-4', 100), null);
  assert.equal(byteRange('bytes=-0', 100), null);
  assert.equal(byteRange(undefined, 100), 'all');
  assert.equal(byteRange('items=0-1', 100), 'all');
  assert.equal(byteRange('bytes=0-1,5-6', 100), 'all');
});

test('whole file, ranges, resume, If-Range, If-None-Match, 416, HEAD', async () => {
  const whole = await get();
  assert.equal(whole.status, 200);
  assert.equal(whole.headers.get('accept-ranges'), 'bytes');
  assert.equal(whole.headers.get('etag'), etag);
  assert.deepEqual(whole.body, body);
  const part = await get({ range: 'bytes=10-19' });
  assert.equal(part.status, 206);
  assert.equal(part.headers.get('content-range'), `bytes 10-19/${body.length}`);
  assert.deepEqual(part.body, body.subarray(10, 20));
  // Resume: the first 400 bytes, then the rest from 400: together the same bytes.
  const head = (await get({ range: 'bytes=0-399' })).body;
  const rest = await get({ range: 'bytes=400-', 'if-range': etag });
  assert.equal(rest.status, 206);
  assert.deepEqual(Buffer.concat([head, rest.body]), body);
  const stale = await get({ range: 'bytes=400-', 'if-range': '"v0"' });
  assert.equal(stale.status, 200);
  assert.deepEqual(stale.body, body);
  assert.equal((await get({ 'if-none-match': etag })).status, 304);
  const beyond = await get({ range: `bytes=${body.length}-` });
  assert.equal(beyond.status, 416);
  assert.equal(beyond.headers.get('content-range'), `bytes */${body.length}`);
  const headOnly = await get({}, 'HEAD');
  assert.equal(headOnly.headers.get('content-length'), String(body.length));
  assert.equal(headOnly.body.length, 0);
});
