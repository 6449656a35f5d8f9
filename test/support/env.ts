// Test environment: real PostgreSQL and Redis when DATABASE_URL / REDIS_URL are set (CI), the
// embedded defaults otherwise. Every run gets its own schema and cache prefix and removes them.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// Tests log warnings and errors only.
process.env.LOG_LEVEL ??= 'warn';

export const databaseUrl = (): string | undefined => process.env.DATABASE_URL || undefined;
export const redisUrl = (): string | undefined => process.env.REDIS_URL || undefined;

/** A schema name no other run uses. */
export const uniqueSchema = (prefix = 't'): string => `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;

/** ../shared/data beside the project: present in CI and sessions, absent in a user's clone. */
export const SHARED_DATA = fileURLToPath(new URL('../../../shared/data/', import.meta.url));
export const sharedDataPresent = (): boolean => existsSync(SHARED_DATA);
export const SHARED_DATA_MISSING = `../shared/data is not beside the project (${SHARED_DATA}); this test needs the public test corpus and is skipped`;
