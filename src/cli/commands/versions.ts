import type { Command } from 'commander';
import type { VersionMetadata } from '../../domain/types';
import { appPath } from '../client';
import { clientOf, jsonOf } from '../context';
import { details, evalReport, pct, printJson, table } from '../output';

function printVersion(v: VersionMetadata): void {
  const { eval: report, files, ...rest } = v;
  console.log(details([...Object.entries(rest), ['files', Object.keys(files ?? {}).join(', ')]]));
  if (report) console.log(`\n${evalReport(report)}`);
}

/** After activate / rollback / deprecate / reinstate: the version's status. */
function printActive(cmd: Command, appId: string, v: VersionMetadata): void {
  if (jsonOf(cmd)) printJson(v);
  else console.log(`${appId}: ${v.version} is ${v.status}`);
}

export function registerVersions(program: Command): void {
  const versions = program.command('versions').description('program versions of a Loop App');

  versions
    .command('list')
    .description('every version: status, generator, accuracy')
    .argument('<app>', 'Loop App id')
    .action(async (appId: string, _opts, cmd: Command) => {
      const body = await clientOf(cmd).get<{ versions: VersionMetadata[] }>(appPath(appId, 'versions'));
      if (jsonOf(cmd)) return printJson(body);
      console.log(
        table(
          ['version', 'status', 'created', 'generator', 'parent', 'accuracy', '95 % CI', 'n', 'method'],
          body.versions.map((v) => [
            v.version,
            v.status,
            v.created_at,
            v.generator,
            v.parent,
            pct(v.eval?.accuracy),
            v.eval?.interval ? `${pct(v.eval.interval.low)}–${pct(v.eval.interval.high)}` : '-',
            v.eval?.n,
            v.eval?.method,
          ]),
        ),
      );
    });

  versions
    .command('show')
    .description('one version: metadata, and its scores with per-class figures and confusion matrix')
    .argument('<app>', 'Loop App id')
    .argument('<version>', 'e.g. v2')
    .action(async (appId: string, version: string, _opts, cmd: Command) => {
      const v = await clientOf(cmd).get<VersionMetadata>(appPath(appId, 'versions', version));
      if (jsonOf(cmd)) printJson(v);
      else printVersion(v);
    });

  versions
    .command('activate')
    .description('serve this version from now on')
    .argument('<app>', 'Loop App id')
    .argument('<version>', 'e.g. v2')
    .option('--force', 'even if it is deprecated')
    .action(async (appId: string, version: string, opts: { force?: boolean }, cmd: Command) => {
      const path = appPath(appId, 'versions', version, 'activate');
      printActive(cmd, appId, await clientOf(cmd).post(path, { force: opts.force === true }));
    });

  versions
    .command('rollback')
    .description('serve the version that was active before the current one')
    .argument('<app>', 'Loop App id')
    .option('--force', 'even if that version is deprecated')
    .action(async (appId: string, opts: { force?: boolean }, cmd: Command) => {
      printActive(
        cmd,
        appId,
        await clientOf(cmd).post(appPath(appId, 'rollback'), { force: opts.force === true }),
      );
    });

  versions
    .command('deprecate')
    .description('mark a version deprecated: it is not activated or rolled back to without --force')
    .argument('<app>', 'Loop App id')
    .argument('<version>', 'e.g. v1')
    .option('--reason <text>', 'why, shown with the version')
    .action(async (appId: string, version: string, opts: { reason?: string }, cmd: Command) => {
      const path = appPath(appId, 'versions', version, 'deprecate');
      printActive(cmd, appId, await clientOf(cmd).post(path, opts.reason ? { reason: opts.reason } : {}));
    });

  versions
    .command('reinstate')
    .description('take a deprecation back')
    .argument('<app>', 'Loop App id')
    .argument('<version>', 'e.g. v1')
    .action(async (appId: string, version: string, _opts, cmd: Command) => {
      printActive(cmd, appId, await clientOf(cmd).post(appPath(appId, 'versions', version, 'reinstate')));
    });
}
