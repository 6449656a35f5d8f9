// Machine description, the per-target summary (median over rounds), the printed table and the
// JSON written to bench/results/.
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import type { AutocannonResult } from './autocannon.ts';

export type Machine = {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGb: number;
  readonly node: string;
  readonly platform: string;
  readonly loadAverageAtStart: readonly number[];
};

export function describeMachine(): Machine {
  let cpuModel = cpus()[0]?.model ?? 'unknown';
  try {
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpuModel;
  } catch {
    /* not Linux: keep os.cpus() */
  }
  return {
    cpuModel,
    cores: availableParallelism(),
    memoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    loadAverageAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

/** Peak RSS of another process from /proc (VmHWM), in KiB; undefined where /proc is absent. */
export function vmHwmKb(pid: number): number | undefined {
  try {
    const kb = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) : undefined;
  } catch {
    return undefined;
  }
}

export type ResponseCounts = { responses: number; non200: number; graphqlErrors: number };

export type Round = {
  readonly round: number;
  readonly requestsPerSecond: number;
  readonly durationSeconds: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
  readonly completed: number;
  readonly non200: number;
  readonly graphqlErrors: number;
  readonly connectionErrors: number;
  readonly timeouts: number;
  readonly statusCodes: Readonly<Record<string, number>>;
  /** CPU time per completed response, in ms, by process (null where /proc is absent). */
  readonly cpuMsPerRequest: CpuPerRequest;
};

export type CpuPerRequest = {
  readonly gateway: number | null;
  readonly backend: number | null;
  readonly loadGenerator: number | null;
  readonly machine: number | null;
};

export function toRound(
  round: number,
  r: AutocannonResult,
  counts: ResponseCounts,
  cpuMs: Record<keyof CpuPerRequest, number | undefined>,
): Round {
  const perRequest = (ms: number | undefined) =>
    ms === undefined || counts.responses === 0 ? null : Math.round((ms / counts.responses) * 100) / 100;
  return {
    round,
    // Responses over the measured wall time. Not autocannon's Req/Sec average: that is the mean of
    // its per-second samples, and a run sometimes gets one sample too many (11 for 10 s), which
    // understates throughput by 10%.
    requestsPerSecond: round1(counts.responses / r.duration),
    durationSeconds: r.duration,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    meanMs: round1(r.latency.average),
    completed: counts.responses,
    non200: counts.non200,
    graphqlErrors: counts.graphqlErrors,
    connectionErrors: r.errors,
    timeouts: r.timeouts,
    statusCodes: Object.fromEntries(Object.entries(r.statusCodeStats).map(([code, s]) => [code, s.count])),
    cpuMsPerRequest: {
      gateway: perRequest(cpuMs.gateway),
      backend: perRequest(cpuMs.backend),
      loadGenerator: perRequest(cpuMs.loadGenerator),
      machine: perRequest(cpuMs.machine),
    },
  };
}

export const errorCount = (r: Round): number => r.non200 + r.graphqlErrors + r.connectionErrors;

export type TargetSummary = {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly peakRssMb: number | null;
  readonly errors: number;
  readonly completed: number;
  readonly cpuMsPerRequest: CpuPerRequest;
};

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length === 0 ? NaN : s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function summarize(rounds: readonly Round[], peakRssKb: number | undefined): TargetSummary {
  return {
    requestsPerSecond: round1(median(rounds.map((r) => r.requestsPerSecond))),
    p50Ms: round1(median(rounds.map((r) => r.p50Ms))),
    p99Ms: round1(median(rounds.map((r) => r.p99Ms))),
    peakRssMb: peakRssKb === undefined ? null : round1(peakRssKb / 1024),
    errors: rounds.reduce((n, r) => n + errorCount(r), 0),
    completed: rounds.reduce((n, r) => n + r.completed, 0),
    cpuMsPerRequest: {
      gateway: medianOrNull(rounds.map((r) => r.cpuMsPerRequest.gateway)),
      backend: medianOrNull(rounds.map((r) => r.cpuMsPerRequest.backend)),
      loadGenerator: medianOrNull(rounds.map((r) => r.cpuMsPerRequest.loadGenerator)),
      machine: medianOrNull(rounds.map((r) => r.cpuMsPerRequest.machine)),
    },
  };
}

function medianOrNull(values: readonly (number | null)[]): number | null {
  const known = values.filter((v): v is number => v !== null);
  return known.length === values.length && known.length > 0 ? Math.round(median(known) * 100) / 100 : null;
}

export const round1 = (x: number): number => Math.round(x * 10) / 10;
export const ratio = (a: number, b: number): number => Math.round((a / b) * 100) / 100;

/** A plain text table with right-aligned numeric columns. */
export function table(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_h, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

// CPU accounting from /proc (Linux), in milliseconds: per process and for the whole machine
// (everything, PostgreSQL, Redis and other tenants included).
const TICK_MS = 10; // USER_HZ is 100 on Linux, whatever the kernel's HZ

/** User + system CPU time of a process so far, in ms; undefined where /proc is absent. */
export function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After "pid (comm) ": state is field 3, utime field 14, stime field 15.
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return undefined;
  }
}

/** Busy CPU time of the whole machine so far (all cores, idle and iowait excluded), in ms. */
export function machineCpuMs(): number | undefined {
  try {
    const cpu = /^cpu\s+(.+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]?.split(/\s+/).map(Number);
    if (!cpu) return undefined;
    // user nice system idle iowait irq softirq steal: busy = user + nice + system + irq + softirq
    // (guest time is already in user; steal is time the hypervisor gave to other machines).
    const busy = [0, 1, 2, 5, 6].reduce((a, i) => a + (cpu[i] ?? 0), 0);
    return busy * TICK_MS;
  } catch {
    return undefined;
  }
}
