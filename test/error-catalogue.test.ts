import fs from 'node:fs';
import path from 'node:path';
import { ApiError, ERROR_CODES, type ErrorCode } from '../src/domain/errors';

/** The catalogue is the one list of error codes: the README shows it, and every code keeps one status. */
describe('error catalogue', () => {
  const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
  const documented = new Map(
    [...readme.matchAll(/^\| `([a-z_]+)` +\| (\d{3}) +\| (.+?) +\|$/gm)].map((m) => [m[1], Number(m[2])]),
  );

  test('the README table lists exactly the catalogue, with the same statuses', () => {
    const catalogue = new Map(Object.entries(ERROR_CODES).map(([code, { status }]) => [code, status]));
    expect(Object.fromEntries(documented)).toEqual(Object.fromEntries(catalogue));
  });

  test('an ApiError takes its status from its code', () => {
    for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
      const err = new ApiError(code, 'x');
      expect(err.status).toBe(ERROR_CODES[code].status);
      expect(err.toBody().error.code).toBe(code);
    }
  });

  test('no source file answers an error code outside the catalogue', () => {
    const files = (dir: string): string[] =>
      fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
        const p = path.join(dir, e.name);
        return e.isDirectory() ? (e.name === 'cli' ? [] : files(p)) : /\.ts$/.test(e.name) ? [p] : [];
      });
    const unknown: string[] = [];
    for (const file of files(path.join(__dirname, '..', 'src'))) {
      const text = fs.readFileSync(file, 'utf8');
      for (const m of text.matchAll(/(?:new ApiError|badRequest)\(\s*'([a-z_]+)'/g))
        if (!(m[1] in ERROR_CODES)) unknown.push(`${path.basename(file)}: ${m[1]}`);
      expect(text).not.toMatch(/new ApiError\(\s*\d{3}/);
    }
    expect(unknown).toEqual([]);
  });
});
