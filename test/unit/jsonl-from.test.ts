import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readJsonlFrom } from '../../src/store/files';

const file = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'loopai-jsonl-')), 'log.jsonl');

/** Reads the file from 0 to its end the way validation does: step by step, each step from where the last ended. */
async function readAll(name: string, maxBytes: number) {
  const steps: number[] = [];
  const records: unknown[] = [];
  for (let offset = 0; ;) {
    const { records: got, next } = await readJsonlFrom(name, offset, maxBytes);
    if (next === offset) return { records, steps };
    records.push(...got);
    steps.push(got.length);
    offset = next;
  }
}

describe('reading a JSON Lines file from an offset', () => {
  test('a large file is read in steps of about maxBytes, each line once', async () => {
    const name = file();
    const rows = Array.from({ length: 1000 }, (_, i) => ({ i, pad: 'x'.repeat(90) }));
    fs.writeFileSync(name, rows.map((r) => JSON.stringify(r) + '\n').join(''));
    const { records, steps } = await readAll(name, 10_000);
    expect(records).toEqual(rows);
    expect(steps.length).toBeGreaterThanOrEqual(10); // ~100 KB in steps of 10 KB
    expect(Math.max(...steps)).toBeLessThanOrEqual(100);
  });

  test('a line longer than maxBytes is read whole, not left behind for ever', async () => {
    const name = file();
    const rows = [{ a: 1 }, { big: 'y'.repeat(50_000) }, { b: 2 }];
    fs.writeFileSync(name, rows.map((r) => JSON.stringify(r) + '\n').join(''));
    expect((await readAll(name, 1_000)).records).toEqual(rows);
  });

  test('a last line without its newline (still being written) is left for the next read', async () => {
    const name = file();
    fs.writeFileSync(name, '{"a":1}\n{"b":');
    const first = await readJsonlFrom(name, 0, 4);
    expect(first).toEqual({ records: [{ a: 1 }], next: 8 });
    expect(await readJsonlFrom(name, first.next, 4)).toEqual({ records: [], next: 8 });
    fs.appendFileSync(name, '2}\n');
    expect(await readJsonlFrom(name, first.next, 4)).toEqual({ records: [{ b: 2 }], next: 16 });
  });
});
