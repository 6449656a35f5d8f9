import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generate } from '@graphql-codegen/cli';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import config from '../codegen.ts';
import { PROJECT_ROOT } from '../platform/config.ts';

process.chdir(PROJECT_ROOT);

type Output = { filename: string; content: string };
const generateInMemory = async (c: typeof config): Promise<Output[]> => (await generate({ ...c, silent: true }, false)) as Output[];

test('generated types and resolvers are current (run `npm run codegen` if not)', async () => {
  const outputs = await generateInMemory(config);
  assert.equal(outputs.length, Object.keys(config.generates).length);
  for (const { filename, content } of outputs) {
    assert.equal(
      readFileSync(join(PROJECT_ROOT, filename), 'utf8'),
      content,
      `${filename} is stale: run \`npm run codegen\` and commit it`,
    );
  }
});

test('the staleness check notices a schema change', async () => {
  const target = 'subgraphs/mpi/__generated__/resolvers.ts';
  const entry = config.generates[target] as { schema: string[] };
  const changed = {
    ...config,
    generates: { [target]: { ...entry, schema: [...entry.schema, 'extend type Patient { deceased: Boolean }'] } },
  };
  const [output] = await generateInMemory(changed as typeof config);
  assert.ok(output);
  assert.notEqual(readFileSync(join(PROJECT_ROOT, target), 'utf8'), output.content);
  assert.match(output.content, /deceased/);
});
