// A command run as a user runs it: a child process of this Node, on the product's storage of one
// test (a PostgreSQL schema when DATABASE_URL is set, else an embedded database in DATA_DIR).
import { execFile } from 'node:child_process';

export type CommandRun = { readonly code: number; readonly stdout: string; readonly stderr: string };

/** `node <script> ...args` with DATA_DIR and DB_SCHEMA set (DATABASE_URL only when the tests have one); never rejects. */
export function runCommandScript(
  script: string,
  args: readonly string[],
  storage: { dataDir: string; schema: string },
): Promise<CommandRun> {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: storage.dataDir, DB_SCHEMA: storage.schema, LOG_LEVEL: 'warn' };
  if (!process.env.DATABASE_URL) delete env.DATABASE_URL;
  return new Promise((resolve) => {
    execFile(process.execPath, [script, ...args], { env, timeout: 120_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}
