import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import yaml from 'js-yaml';

export const tmpDataDir = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'loopai-test-'));

/** A copy of the bundled example apps (without runtime data) in a new data dir, as the quick start serves them. */
export function copyBundledApps(): string {
  const dataDir = tmpDataDir();
  fs.cpSync(path.join(__dirname, '..', '..', 'loopai-data', 'loop-apps'), path.join(dataDir, 'loop-apps'), {
    recursive: true,
    verbatimSymlinks: true,
    filter: (src) => !/[/\\](executions|validations|analytics|events\.jsonl)/.test(src),
  });
  return dataDir;
}

export const SPAM_PROGRAM = `
function execute(input) {
  var words = JSON.parse(loopai.files['words.json']);
  var text = input.text.toLowerCase();
  var hits = words.filter(function (w) { return text.indexOf(w) >= 0; }).length;
  return { result: hits > 0 ? 'spam' : 'ham', confidence: hits > 0 ? 0.9 : 0.6 };
}`;

export const spamConfig = (id: string, extra: Record<string, unknown> = {}) => ({
  loop_app_id: id,
  name: 'Spam test',
  task: 'Classify messages as spam or ham',
  input_schema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
  output_schema: { type: 'string', enum: ['spam', 'ham'] },
  ...extra,
});

/** Writes an app the way a person would: config.yaml, artifacts/vN/…, and a relative `active` link. */
export function writeApp(
  dataDir: string,
  id: string,
  opts: { config?: Record<string, unknown>; versions?: Array<Record<string, string>>; active?: string } = {},
): string {
  const dir = path.join(dataDir, 'loop-apps', id);
  fs.mkdirSync(path.join(dir, 'artifacts'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.yaml'), yaml.dump(opts.config ?? spamConfig(id)));
  const versions = opts.versions ?? [{ 'program.js': SPAM_PROGRAM, 'words.json': '["win","prize","free"]' }];
  versions.forEach((files, i) => writeVersion(dataDir, id, `v${i + 1}`, files));
  if (versions.length)
    fs.symlinkSync(opts.active ?? `v${versions.length}`, path.join(dir, 'artifacts', 'active'));
  return dir;
}

export function writeVersion(
  dataDir: string,
  id: string,
  version: string,
  files: Record<string, string>,
): void {
  const dir = path.join(dataDir, 'loop-apps', id, 'artifacts', version);
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
}

/** Flips `active` the way a person would from a shell (`ln -sfn`-style: new link, rename over). */
export function flipActive(dataDir: string, id: string, version: string): void {
  const link = path.join(dataDir, 'loop-apps', id, 'artifacts', 'active');
  fs.symlinkSync(version, link + '.new');
  fs.renameSync(link + '.new', link);
}
