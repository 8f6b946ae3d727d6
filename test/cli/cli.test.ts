/**
 * The `ledger` binary as a user runs it: a child process, its exit code, its stdout. Exit 0
 * clean, 1 findings, 2 usage or store errors; --json is parseable and says what the in-process
 * audit tests check in detail.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { tempDir } from '../support/temp.ts';
import { buildLedger, expectedOf, rewrite, rows, withFile, type Ledger } from '../audit/fixtures.ts';
import { main } from '../../src/cli/main.ts';
import { ledger } from './run.ts';

const test = suite<{ log: Ledger; dir: string }>('ledger CLI');

test.before(async (context) => {
  context.log = await buildLedger(1_500, 'cli');
  context.dir = tempDir('cli-out');
});

test('replay on a clean log: exit 0, and --json carries the counts and sums', async ({ log }) => {
  const run = await ledger(['replay', '--store', log.url, '--json']);
  assert.is(run.code, 0, run.stderr);
  const expected = expectedOf(log.issued);
  assert.is(run.json.counts.events, expected.events);
  assert.is(run.json.counts.streams, expected.streams);
  assert.equal(run.json.counts.orders, expected.orders);
  assert.equal(run.json.currencies, expected.currencies);
  assert.equal(run.json.findings.listed, []);
  assert.match(run.json.digest, /^[0-9a-f]{64}$/);
});

test('replay in words when piped: a summary and no progress bar', async ({ log }) => {
  const run = await ledger(['replay', '--store', log.url]);
  assert.is(run.code, 0, run.stderr);
  assert.match(run.stdout, /1,500 events in/);
  assert.match(run.stdout, /No findings\./);
  assert.is(run.stderr, '');
});

test('LEDGER_STORE is the default store', async ({ log }) => {
  const run = await ledger(['replay', '--json'], { LEDGER_STORE: log.url });
  assert.is(run.code, 0, run.stderr);
  assert.is(run.json.source, log.url);
});

test('replay on a tampered log: exit 1 and the finding named', async ({ log }) => {
  const path = log.copy('cli-tampered');
  const payment = rows(path, "type = 'PaymentCaptured'").find((row) => (row.data.amount as number) > 1)!;
  rewrite(path, payment.position, (row) => ({ data: { ...row.data, amount: (row.data.amount as number) - 1 } }));
  const run = await ledger(['replay', '--store', `sqlite:${path}`, '--json']);
  assert.is(run.code, 1, run.stderr);
  assert.equal(run.json.findings.byCode, { 'hash-mismatch': 1 });
  assert.equal(run.json.findings.listed[0], {
    code: 'hash-mismatch',
    stream: payment.stream,
    revision: String(payment.revision),
    position: String(payment.position),
    message: 'the event no longer matches its hash: its content was altered after it was written',
  });
  const words = await ledger(['replay', '--store', `sqlite:${path}`]);
  assert.is(words.code, 1);
  assert.match(
    words.stdout,
    new RegExp(`hash-mismatch  ${payment.stream}@${payment.revision} \\(position ${payment.position}\\)`),
  );
});

test('a --store file that is not a SQLite database: exit 2 naming it, no stack trace', async ({ dir }) => {
  const path = join(dir, 'not-a-database.db');
  writeFileSync(path, 'plain text, long enough to be read as a database header and refused as one');
  const run = await ledger(['replay', '--store', `sqlite:${path}`]);
  assert.is(run.code, 2, run.stderr);
  assert.match(run.stderr, /cannot use the event store at sqlite:.*not-a-database\.db: .*SQLITE_NOTADB/);
  assert.not.match(run.stderr, /\n\s+at /, 'no stack trace');
});

test('usage and store errors from the binary: exit 2 with what to do', async ({ log, dir }) => {
  const cases: [string[], RegExp][] = [
    [['replay', '--store', log.url, '--frobnicate'], /Unknown option '--frobnicate'[\s\S]*ledger replay --help/],
    [
      ['replay', '--store', `sqlite:${join(dir, 'missing.db')}`],
      /no event store at .*missing\.db: pass --store sqlite:<path> or set LEDGER_STORE/,
    ],
    [[], /usage: ledger <command>/],
  ];
  for (const [args, message] of cases) {
    const run = await ledger(args);
    assert.is(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr + run.stdout, message, args.join(' '));
  }
});

/** The same entry in this process, for the many small cases (a child process costs a second each). */
async function inProcess(args: readonly string[]) {
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    env: {},
  });
  return { code, stdout, stderr };
}

test('usage errors: exit 2 with what to do', async ({ log, dir }) => {
  const cases: [string[], RegExp][] = [
    [
      ['replay', '--store', 'mysql://x'],
      /--store "mysql:\/\/x" must be sqlite:<path>, memory:, a postgres:\/\/ URL or an esdb:\/\/ connection string/,
    ],
    [['replay', '--store', log.url, '--to-position', 'ten'], /--to-position must be a global position/],
    [['replay', '--store', log.url, '--as-of', 'yesterday'], /--as-of must be an ISO 8601 time/],
    [
      ['replay', '--store', log.url, '--compare-live', '--as-of', '2024-01-01T00:00:00Z'],
      /drop --to-position and --as-of/,
    ],
    [['replay', '--from-file', join(dir, 'missing.ndjson')], /--from-file .*missing\.ndjson: no such file/],
    [['export', '--store', log.url], /--out <file> is required/],
    [['audit-everything'], /unknown command "audit-everything"[\s\S]*ledger --help/],
    [['import', '--store', `sqlite:${join(dir, 'x.db')}`], /--in <file> is required/],
    [['report', '--store', log.url], /--html <file> is required/],
    [['replay', '--store', log.url, '--workers', 'many'], /--workers must be/],
  ];
  for (const [args, message] of cases) {
    const run = await inProcess(args);
    assert.is(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr + run.stdout, message, args.join(' '));
  }
});

test('every command has --help (exit 0)', async () => {
  const overview = await ledger(['--help']);
  assert.is(overview.code, 0);
  for (const name of ['serve', 'replay', 'replay-commands', 'export', 'import', 'report', 'projections rebuild']) {
    assert.match(overview.stdout, new RegExp(`^  ${name} `, 'm'));
    const run = await inProcess([...name.split(' '), '--help']);
    assert.is(run.code, 0, name);
    assert.match(run.stdout, new RegExp(`^usage: ledger ${name}`), name);
  }
});

function withoutStoreFields(text: string): string[] {
  return text
    .trimEnd()
    .split('\n')
    .map((line) => line.replace(/,"position":"\d+","createdAt":"[^"]+"\}$/, '}'));
}

test('export → import → export: byte-identical but for the store-assigned tail of each line', async ({ log, dir }) => {
  const first = join(dir, 'first.ndjson');
  const second = join(dir, 'second.ndjson');
  const copy = `sqlite:${join(dir, 'imported.db')}`;
  const exported = await ledger(['export', '--store', log.url, '--out', first, '--json']);
  assert.is(exported.code, 0, exported.stderr);
  assert.is(exported.json.events, 1_500);
  const imported = await ledger(['import', '--store', copy, '--in', first, '--json']);
  assert.is(imported.code, 0, imported.stderr);
  assert.equal([imported.json.events, imported.json.streams], [1_500, expectedOf(log.issued).streams]);
  assert.is((await ledger(['export', '--store', copy, '--out', second])).code, 0);
  const a = readFileSync(first, 'utf8');
  const b = readFileSync(second, 'utf8');
  assert.equal(withoutStoreFields(b), withoutStoreFields(a));
  assert.is(a.split('\n').length, 1_501);
  // The same log, so the same digest, whether audited in the store, the copy or the file.
  const digests = await Promise.all(
    [
      ['--store', log.url],
      ['--store', copy],
      ['--from-file', first],
    ].map((source) => ledger(['replay', ...source, '--json'])),
  );
  assert.equal(
    digests.map((run) => [run.code, run.json.digest]),
    Array(3).fill([0, digests[0]!.json.digest]),
  );
});

test('import into a store that is not empty: refused, exit 2, nothing written', async ({ log, dir }) => {
  const file = join(dir, 'refused.ndjson');
  assert.is((await ledger(['export', '--store', log.url, '--out', file])).code, 0);
  const target = log.copy('non-empty');
  const before = createHash('sha256').update(readFileSync(target)).digest('hex');
  const run = await ledger(['import', '--store', `sqlite:${target}`, '--in', file]);
  assert.is(run.code, 2);
  assert.match(
    run.stderr,
    /not empty \(its log reaches position 1500\): nothing was written[\s\S]*choose a new --store path/,
  );
  assert.is(createHash('sha256').update(readFileSync(target)).digest('hex'), before);
});

test('import of a malformed export writes nothing', async ({ log, dir }) => {
  const file = join(dir, 'malformed.ndjson');
  assert.is((await ledger(['export', '--store', log.url, '--out', file])).code, 0);
  const lines = readFileSync(file, 'utf8').split('\n');
  lines[700] = lines[700]!.replace('"revision":"', '"revision":"9');
  writeFileSync(file, lines.join('\n'));
  const target = join(dir, 'never-written.db');
  const run = await ledger(['import', '--store', `sqlite:${target}`, '--in', file]);
  // The import audits the file first: a revision out of place is one of its findings.
  assert.is(run.code, 1);
  assert.match(run.stdout, /does not audit clean/);
  assert.match(run.stdout, /revision-gap {2}order-\S+@9\d* \(position \d+\): expected revision \d+, found 9/);
  assert.is(
    withFile(target, (db) => (db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n),
    0,
  );
});

test('replay --from-file: a duplicated event id in an export is found', async ({ log, dir }) => {
  const file = join(dir, 'dup-id.ndjson');
  assert.is((await ledger(['export', '--store', log.url, '--out', file])).code, 0);
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
  const firstId = JSON.parse(lines[0]!).id as string;
  const second = JSON.parse(lines[1]!);
  lines[1] = lines[1]!.replace(second.id, firstId);
  writeFileSync(file, `${lines.join('\n')}\n`);
  const run = await ledger(['replay', '--from-file', file, '--json']);
  assert.is(run.code, 1);
  // The id is not part of the hash (EventStoreDB assigns ids outside the body): only uniqueness catches this.
  assert.equal(run.json.findings.byCode, { 'duplicate-event-id': 1 });
  assert.is(run.json.findings.listed[0].position, '2');
});

test('replay-commands: exit 0, every command a replay', async ({ log }) => {
  const run = await ledger(['replay-commands', '--store', log.url, '--json']);
  assert.is(run.code, 0, run.stderr);
  assert.equal(
    [run.json.commands, run.json.replays, run.json.newEvents, run.json.findings.total],
    [1_500, 1_500, 0, 0],
  );
});

test('report --html: one self-contained page, exit 0 on a clean log', async ({ log, dir }) => {
  const out = join(dir, 'report.html');
  const run = await ledger(['report', '--store', log.url, '--html', out, '--json']);
  assert.is(run.code, 0, run.stderr);
  const html = readFileSync(out, 'utf8');
  assert.match(html, /^<!doctype html>/);
  assert.match(html, new RegExp(run.json.digest));
  assert.match(html, /<svg [^>]*aria-label="EUR captured per day"/);
  assert.not.match(html, /<script|<link|\ssrc=|\shref=|url\(/i);
});

test("projections rebuild is delegated to the projections' subcommand", async ({ log }) => {
  const target = log.copy('rebuild');
  const run = await ledger(['projections', 'rebuild', 'order-summary', '--store', `sqlite:${target}`, '--json']);
  assert.is(run.code, 0, run.stderr);
  assert.is(run.json.events, 1_500);
  assert.equal(
    run.json.projections.map((p: { name: string }) => p.name),
    ['order-summary'],
  );
});

test.run();
