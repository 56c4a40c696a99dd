import type { Command } from 'commander';
import { appPath, type Client } from '../client';
import { clientOf, jsonOf } from '../context';
import { readMapping } from '../input';
import { followJob } from '../jobs';
import type { EvalReport } from '../../domain/types';
import { details, pct, printJson, scoreText, table } from '../output';
import { sendExamples, type ColumnOptions } from './examples';

/** GET /loop-apps/{id} as the server describes it (the fields shown here). */
export interface App {
  loop_app_id: string;
  name?: string;
  task: string;
  status: string;
  active_version: string | null;
  serving_version: string | null;
  accuracy: number | null;
  /** The serving version's score, with its interval. */
  score: EvalReport | null;
  endpoint: string;
  load_error: string | null;
}

interface Accepted {
  job_id: string;
  loop_app_id: string;
  state: string;
  job_url: string;
}

interface CreateOptions extends ColumnOptions {
  examples?: string;
  wait: boolean;
}

/**
 * `apps create --examples FILE`: the app is made first (without a version, or with the spec's program), the file
 * is streamed to it (any size), then the generation starts.
 */
async function createThenUpload(
  client: Client,
  spec: Record<string, unknown>,
  file: string,
  columns: ColumnOptions,
): Promise<App | Accepted> {
  const withProgram = spec.program !== undefined;
  const app = await client.post<App>('/loop-apps', withProgram ? spec : { ...spec, generate: false });
  const { added, total } = await sendExamples(client, app.loop_app_id, file, columns);
  process.stderr.write(`${app.loop_app_id}: ${added} examples added (${total} in all)\n`);
  if (withProgram) return app;
  return client.post<Accepted>(appPath(app.loop_app_id, 'versions'), { regenerate: true });
}

/** Shown first, by name; every other field (schemas, settings) follows as it is. */
const SUMMARY = new Set([
  'loop_app_id',
  'name',
  'task',
  'status',
  'active_version',
  'serving_version',
  'accuracy',
  'score',
  'endpoint',
  'load_error',
]);

/** `91.5 % (88.4–93.9 %)`: the accuracy and its 95 % interval, for a table. */
const shortScore = ({ score, accuracy }: App): string =>
  score?.interval
    ? `${pct(score.accuracy)} (${(score.interval.low * 100).toFixed(1)}–${pct(score.interval.high)})`
    : pct(accuracy);

function printApp(app: App): void {
  const version =
    app.active_version === app.serving_version
      ? app.active_version
      : `${app.active_version} (serving ${app.serving_version ?? 'none'})`;
  const pairs: Array<[string, unknown]> = [
    ['id', app.loop_app_id],
    ['name', app.name],
    ['task', app.task],
    ['status', app.status],
    ['version', version],
    ['accuracy', app.score ? scoreText(app.score) : pct(app.accuracy)],
    ['endpoint', app.endpoint],
  ];
  if (app.load_error) pairs.push(['load error', app.load_error]);
  console.log(details([...pairs, ...Object.entries(app).filter(([k]) => !SUMMARY.has(k))]));
}

export function registerApps(program: Command): void {
  const apps = program.command('apps').description('list, show, create and change Loop Apps');

  apps
    .command('list')
    .description('every Loop App: id, status, active version, accuracy')
    .action(async (_opts, cmd: Command) => {
      const body = await clientOf(cmd).get<{ loop_apps: App[]; load_errors: Record<string, string> }>(
        '/loop-apps',
      );
      if (jsonOf(cmd)) return printJson(body);
      console.log(
        table(
          ['id', 'name', 'status', 'version', 'accuracy'],
          body.loop_apps.map((a) => [a.loop_app_id, a.name, a.status, a.active_version, shortScore(a)]),
        ),
      );
      for (const [id, why] of Object.entries(body.load_errors))
        process.stderr.write(`${id} does not load: ${why}\n`);
    });

  apps
    .command('show')
    .description('one Loop App: spec, settings, versions, accuracy')
    .argument('<id>', 'Loop App id')
    .action(async (id: string, _opts, cmd: Command) => {
      const app = await clientOf(cmd).get<App>(appPath(id));
      if (jsonOf(cmd)) printJson(app);
      else printApp(app);
    });

  apps
    .command('create')
    .description('create a Loop App from a spec file (JSON or YAML) and wait for its program to be made')
    .argument('<file>', 'spec: loop_app_id, task, input_schema, output_schema, examples or program, settings')
    .option(
      '--examples <file>',
      'labelled examples of any size, streamed after the app is made (JSONL, a JSON array, or .csv)',
    )
    .option('--input <columns>', 'with a CSV --examples: the input columns (a.b for a nested field)')
    .option('--output <column>', 'with a CSV --examples: the output column')
    .option('--no-wait', 'print the job id and return at once instead of waiting for the job')
    .action(async (file: string, opts: CreateOptions, cmd: Command) => {
      const spec = readMapping(file);
      const client = clientOf(cmd);
      const json = jsonOf(cmd);
      const created = opts.examples
        ? await createThenUpload(client, spec, opts.examples, opts)
        : await client.post<App | Accepted>('/loop-apps', spec);
      if (!('job_id' in created)) {
        // created with a hand-written program: nothing to wait for
        if (json) printJson(created);
        else printApp(created);
        return;
      }
      if (!opts.wait) {
        if (json) printJson(created);
        else
          console.log(
            `${created.loop_app_id}: job ${created.job_id} ${created.state} (loopai jobs watch ${created.job_id})`,
          );
        return;
      }
      process.stderr.write(`${created.loop_app_id}: job ${created.job_id}\n`);
      await followJob(client, created.job_id, json);
    });

  for (const [action, what] of [
    ['pause', 'stop executing (execute answers 503) until resumed'],
    ['resume', 'execute again'],
    ['archive', 'stop executing for good (execute answers 410); the data is kept'],
  ] as const) {
    apps
      .command(action)
      .description(what)
      .argument('<id>', 'Loop App id')
      .action(async (id: string, _opts, cmd: Command) => {
        const app = await clientOf(cmd).post<App>(appPath(id, action));
        if (jsonOf(cmd)) printJson(app);
        else console.log(`${app.loop_app_id}: ${app.status}`);
      });
  }
}
