// Waits until the inbox workers have applied every message (none pending or processing): tests
// drive a sync cycle, then wait for its effects, bounded, instead of sleeping a fixed time.
import type { Database } from '../../platform/db.ts';

export async function inboxDrained(db: Database, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM inbox_message WHERE state IN ('pending', 'processing')");
    if (r.rows[0]!.n === 0) return;
    if (Date.now() > deadline) throw new Error(`inbox not drained within ${timeoutMs} ms: ${r.rows[0]!.n} messages open`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
