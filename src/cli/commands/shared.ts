import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { SharedMetadata } from '../../store/shared-files';
import { clientOf, jsonOf } from '../context';
import { CliError, EXIT } from '../errors';
import { details, printJson, table } from '../output';

/** An artifact as the API answers it: its metadata.yaml and who pins it. */
type Artifact = SharedMetadata & { dependents: Array<{ loop_app_id: string; version: string }> };
type Verified = Pick<Artifact, 'type' | 'name' | 'version'> & { hash: string | null; error: string | null };

const artifactPath = (type: string, name: string, version: string) =>
  `/shared/artifacts/${[type, name, version].map(encodeURIComponent).join('/')}`;
const label = (a: Pick<Artifact, 'type' | 'name' | 'version'>) => `${a.type} ${a.name} ${a.version}`;
const bytes = (a: Artifact) => Object.values(a.files).reduce((n, f) => n + f.size, 0);

/** The regular files of a folder (not hidden, not metadata.yaml), as text by name; a usage error if it has none. */
function readFolder(dir: string): Record<string, string> {
  let names: string[];
  try {
    names = fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isFile() && !e.name.startsWith('.') && e.name !== 'metadata.yaml')
      .map((e) => e.name);
  } catch (err) {
    throw new CliError(`cannot read the folder ${dir}: ${(err as Error).message}`, EXIT.usage);
  }
  if (!names.length) throw new CliError(`${dir} holds no files to publish`, EXIT.usage);
  return Object.fromEntries(names.map((name) => [name, fs.readFileSync(path.join(dir, name), 'utf8')]));
}

/** `loopai shared list|show|publish|verify|gc`: shared artifacts that versions pin in dependencies.yaml. */
export function registerShared(program: Command): void {
  const shared = program
    .command('shared')
    .description('shared artifacts: read-only files many apps pin by hash');

  shared
    .command('list')
    .description('every shared artifact: hash, size, and how many retained versions pin it')
    .action(async (_opts, cmd: Command) => {
      const body = await clientOf(cmd).get<{ artifacts: Artifact[] }>('/shared/artifacts');
      if (jsonOf(cmd)) return printJson(body);
      console.log(
        table(
          ['type', 'name', 'version', 'hash', 'files', 'bytes', 'pinned by'],
          body.artifacts.map((a) => [
            a.type,
            a.name,
            a.version,
            a.hash.slice(0, 19),
            Object.keys(a.files).length,
            bytes(a),
            a.dependents.length,
          ]),
        ),
      );
    });

  shared
    .command('show')
    .description('one shared artifact: its files and the versions that pin it')
    .argument('<type>', 'model, vectorizer or embedding')
    .argument('<name>')
    .argument('<version>', 'e.g. v2')
    .action(async (type: string, name: string, version: string, _opts, cmd: Command) => {
      const a = await clientOf(cmd).get<Artifact>(artifactPath(type, name, version));
      if (jsonOf(cmd)) return printJson(a);
      const { files, dependents, ...rest } = a;
      console.log(details(Object.entries(rest)));
      console.log(
        table(
          ['file', 'bytes', 'sha256'],
          Object.entries(files).map(([f, d]) => [f, d.size, d.sha256]),
        ),
      );
      console.log(
        `pinned by: ${dependents.map((d) => `${d.loop_app_id} ${d.version}`).join(', ') || 'none'}`,
      );
    });

  shared
    .command('publish')
    .description("publish a folder's files as a shared artifact (immutable: a new version for new content)")
    .argument('<type>', 'model, vectorizer or embedding')
    .argument('<name>')
    .argument('<version>', 'e.g. v2')
    .argument('<folder>', 'the files to publish (text; binary as base64)')
    .option('--description <text>')
    .action(async (type: string, name: string, version: string, folder: string, opts, cmd: Command) => {
      const files = readFolder(folder);
      const a = await clientOf(cmd).post<Artifact>('/shared/artifacts', {
        type,
        name,
        version,
        files,
        ...(opts.description ? { description: opts.description } : {}),
      });
      if (jsonOf(cmd)) return printJson(a);
      console.log(`${label(a)}: ${a.hash} (${Object.keys(a.files).length} files, ${bytes(a)} bytes)`);
      console.log(
        `pin it in a version's dependencies.yaml:\n  - {type: ${a.type}, name: ${a.name}, version: ${a.version}, hash: "${a.hash}"}`,
      );
    });

  shared
    .command('verify')
    .description('read every shared artifact and recompute every hash on the server; exits 5 if one fails')
    .action(async (_opts, cmd: Command) => {
      const body = await clientOf(cmd).post<{ artifacts: Verified[] }>('/shared/artifacts/verify');
      const failed = body.artifacts.filter((a) => a.error);
      if (jsonOf(cmd)) printJson(body);
      else {
        console.log(
          table(
            ['artifact', 'result'],
            body.artifacts.map((a) => [label(a), a.error ?? 'ok']),
          ),
        );
        console.log(`${body.artifacts.length - failed.length} of ${body.artifacts.length} verified`);
      }
      if (failed.length)
        throw new CliError(`${failed.length} shared artifact(s) failed verification`, EXIT.rejected);
    });

  shared
    .command('gc')
    .description('list the shared artifacts no retained version pins; delete them with --apply')
    .option('--apply', 'delete them (each is refused if a version has pinned it since)')
    .action(async (opts: { apply?: boolean }, cmd: Command) => {
      const client = clientOf(cmd);
      const { artifacts } = await client.get<{ artifacts: Artifact[] }>('/shared/artifacts');
      const unused = artifacts.filter((a) => !a.dependents.length);
      const deleted: string[] = [];
      if (opts.apply) {
        for (const a of unused) {
          await client.delete(artifactPath(a.type, a.name, a.version));
          deleted.push(label(a));
        }
      }
      if (jsonOf(cmd)) return printJson({ unused: unused.map(label), deleted });
      for (const a of unused)
        console.log(`${label(a)}: pinned by no retained version${opts.apply ? ', deleted' : ''}`);
      if (!unused.length) console.log('every shared artifact is pinned by a retained version');
      else if (!opts.apply) console.log('run again with --apply to delete them');
    });
}
