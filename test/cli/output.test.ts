/** A progress bar for a person at a terminal; nothing at all for a pipe or for --json. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createOutput, toJson } from '../../src/cli/output.ts';

const test = suite('CLI output');

function capture(isTTY: boolean) {
  const written: string[] = [];
  return { stream: { isTTY, write: (text: string) => written.push(text) }, written };
}

function drive(json: boolean, isTTY: boolean) {
  const stdout = capture(false);
  const stderr = capture(isTTY);
  const out = createOutput({ stdout: stdout.stream, stderr: stderr.stream, env: {} }, json);
  const progress = out.progress('Auditing');
  for (let i = 1; i <= 5_000; i++) progress.update(i, 5_000);
  progress.stop();
  out.result({ position: 12n }, () => 'in words');
  return { stdout: stdout.written.join(''), stderr: stderr.written.join('') };
}

test('a terminal gets a progress bar on stderr; stdout gets the words', () => {
  const { stdout, stderr } = drive(false, true);
  assert.match(stderr, /Auditing \[/);
  assert.is(stdout, 'in words\n');
});

test('piped: no bar', () => {
  assert.is(drive(false, false).stderr, '');
});

test('--json: no bar even on a terminal, and bigints as decimal strings', () => {
  const { stdout, stderr } = drive(true, true);
  assert.is(stderr, '');
  assert.equal(JSON.parse(stdout), { position: '12' });
  assert.is(toJson({ a: 2n ** 70n }), '{\n  "a": "1180591620717411303424"\n}');
});

test.run();
