/** The CPU profile of a server under load (node --cpu-prof), summed up by function: where a request's time goes. */
import fs from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  endTime: number;
  startTime: number;
}

/**
 * The functions with the most self time in the one profile in `dir`, over its last `windowMs` (the load, not the
 * start-up), as table rows with their share of busy time.
 */
export function topFunctions(dir: string, windowMs: number, top = 15): string[] {
  const file = fs.readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) return ['| (no profile written) | |'];
  const profile = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let busy = 0;
  let at = profile.startTime;
  const from = profile.endTime - windowMs * 1000;
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i] ?? 0;
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (at < from || functionName === '(idle)') return;
    const where = url
      ? ` ${url.replace(/^.*\/(node_modules|dist)\//, '').replace(/^node:/, 'node:')}:${lineNumber + 1}`
      : '';
    const key = `${functionName || '(anonymous)'}${where}`;
    const dt = profile.timeDeltas[i] ?? 0;
    self.set(key, (self.get(key) ?? 0) + dt);
    busy += dt;
  });
  return [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, us]) => `| \`${name}\` | ${((100 * us) / busy).toFixed(1)} % |`);
}
