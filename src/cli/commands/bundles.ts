import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { clientOf, jsonOf } from '../context';
import { printJson } from '../output';

type Imported = {
  apps: Array<{ loop_app_id: string; state: string; version: string | null; error: string | null }>;
};

/**
 * Offline bundles: `loopai export` writes the named apps as they serve (files and all, checked by digest) from a
 * server that learns, `loopai import` applies one on an edge with no link to its cloud.
 */
export function registerBundles(program: Command): void {
  program
    .command('export')
    .description('an offline bundle of Loop Apps as they serve (tar.gz), for `loopai import` on an edge')
    .argument('<apps...>', 'Loop App ids')
    .requiredOption('-o, --out <file>', 'where to write the bundle (bundle.tar.gz)')
    .action(async (apps: string[], opts: { out: string }, cmd: Command) => {
      const out = path.resolve(opts.out);
      const part = `${out}.part`;
      try {
        await clientOf(cmd).download(
          `/bundle?apps=${apps.map(encodeURIComponent).join(',')}`,
          fs.createWriteStream(part),
        );
        fs.renameSync(part, out); // a bundle cut short is never left under its name
      } finally {
        fs.rmSync(part, { force: true });
      }
      const bytes = fs.statSync(out).size;
      if (jsonOf(cmd)) printJson({ file: out, bytes, apps });
      else console.log(`${out}: ${apps.length} Loop App(s), ${bytes} bytes`);
    });

  program
    .command('import')
    .description('apply an offline bundle on an edge (every file checked against its digest)')
    .argument('<file>', 'a bundle made by `loopai export`')
    .action(async (file: string, _opts, cmd: Command) => {
      const imported = await clientOf(cmd).upload<Imported>(
        '/bundle',
        file,
        'application/gzip',
        () => undefined,
      );
      if (jsonOf(cmd)) return printJson(imported);
      for (const app of imported.apps)
        console.log(
          `${app.loop_app_id}: ${app.state}${app.version ? ` ${app.version}` : ''}${app.error ? ` (${app.error})` : ''}`,
        );
      if (imported.apps.some((a) => a.state !== 'synced')) process.exitCode = 1;
    });
}
