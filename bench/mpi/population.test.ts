import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { generatePopulation, populationStats, relationOf, SOURCES, TRAPS, truthOf, writePopulation } from './population.ts';

const population = generatePopulation({ seed: 13, people: 20_000 });
const stats = populationStats(population);

test('same seed, same population; another seed, another', () => {
  const a = generatePopulation({ seed: 7, people: 2000 });
  const b = generatePopulation({ seed: 7, people: 2000 });
  const c = generatePopulation({ seed: 8, people: 2000 });
  assert.deepEqual(JSON.stringify(a.sources), JSON.stringify(b.sources));
  assert.notDeepEqual(JSON.stringify(a.sources), JSON.stringify(c.sources));
});

test('at least 20,000 people in four sources, many in one source, some in two to four', () => {
  assert.ok(stats.people >= 20_000);
  assert.ok(population.sources.length >= 4 && SOURCES.length === population.sources.length);
  assert.ok(stats.records > 30_000 && stats.records < 40_000, `${stats.records} records`);
  assert.ok(stats.peopleByRecords['1']! > stats.people * 0.35);
  assert.ok(stats.peopleByRecords['2']! > 0 && stats.peopleByRecords['3']! > 0 && stats.peopleByRecords['4+']! > 0);
  assert.ok(population.cities.length >= 8 && population.cities.length <= 15);
});

test('the traps are there at realistic rates', () => {
  const kids = population.people.filter((p) => p.parents.length > 0).length;
  // ~3% of births are twin births: about 6% of children are twins.
  assert.ok(stats.twinPairs * 2 > kids * 0.03 && stats.twinPairs * 2 < kids * 0.1, `${stats.twinPairs} twin pairs, ${kids} children`);
  assert.ok(stats.juniors > 100, `${stats.juniors} juniors`);
  assert.ok(population.people.some((p) => p.suffix === 'Jr') && population.people.some((p) => p.suffix === 'Sr'));
  assert.ok(stats.missingSsnAmongDuplicates > 0.4 && stats.missingSsnAmongDuplicates < 0.6, String(stats.missingSsnAmongDuplicates));
  for (const t of [
    'ssn-of-relative',
    'ssn-reused',
    'ssn-typo',
    'nickname',
    'swapped-names',
    'day-month-swap',
    'birth-date-typo',
    'maiden-name',
    'hyphen-part',
    'moved',
    'suffix-dropped',
  ])
    assert.ok((stats.recordTraps[t] ?? 0) > 20, `${t}: ${stats.recordTraps[t]}`);
  assert.ok(stats.sameNameSameTownPairs > 50, `${stats.sameNameSameTownPairs} same-name same-town pairs`);
  // Sound-alike twin names.
  const byId = new Map(population.people.map((p) => [p.id, p]));
  assert.ok(population.people.some((p) => p.twin && p.given === 'Emma' && byId.get(p.twin)!.given === 'Emily'));
});

test('the truth is consistent: unique record ids, every record a known person of its household', () => {
  const truth = truthOf(population);
  assert.equal(truth.size, stats.records);
  const people = new Map(population.people.map((p) => [p.id, p]));
  const households = new Set(population.households.map((h) => h.id));
  for (const s of population.sources)
    for (const r of s.records) {
      assert.equal(r.patient.id, r.id);
      assert.equal(people.get(r.person)?.household, r.household);
      assert.ok(households.has(r.household));
    }
  for (const p of population.people) {
    if (p.spouse) assert.equal(people.get(p.spouse)!.spouse, p.id);
    if (p.twin) assert.equal(people.get(p.twin)!.birthDate, p.birthDate);
  }
});

test('relationOf names the relation between two different people', () => {
  const relation = relationOf(population);
  const recordOf = new Map<string, string>();
  for (const s of population.sources) for (const r of s.records) recordOf.set(r.person, r.id);
  const twin = population.people.find((p) => p.twin && recordOf.has(p.id) && recordOf.has(p.twin))!;
  assert.equal(relation(recordOf.get(twin.id)!, recordOf.get(twin.twin!)!), 'twins');
  const spouse = population.people.find((p) => p.spouse && recordOf.has(p.id) && recordOf.has(p.spouse))!;
  assert.equal(relation(recordOf.get(spouse.id)!, recordOf.get(spouse.spouse!)!), 'spouses');
  const byId = new Map(population.people.map((p) => [p.id, p]));
  const junior = population.people.find(
    (p) => p.parents.some((id) => byId.get(id)!.given === p.given && recordOf.has(id)) && recordOf.has(p.id),
  )!;
  const father = junior.parents.find((id) => byId.get(id)!.given === junior.given)!;
  assert.equal(relation(recordOf.get(junior.id)!, recordOf.get(father)!), 'parent-child-same-name');
  assert.ok(TRAPS.includes(relation(population.sources[0]!.records[0]!.id, population.sources[1]!.records[0]!.id)));
});

test('writes one NDJSON file per source and the truth', () => {
  const dir = mkdtempSync(join(tmpdir(), 'population-'));
  try {
    const small = generatePopulation({ seed: 1, people: 500 });
    const files = writePopulation(small, dir);
    assert.equal(files.length, SOURCES.length + 1);
    const first = JSON.parse(readFileSync(files[0]!, 'utf8').split('\n')[0]!);
    assert.equal(first.resourceType, 'Patient');
    const truth = readFileSync(join(dir, 'truth.ndjson'), 'utf8').trim().split('\n');
    assert.equal(truth.length, populationStats(small).records);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
