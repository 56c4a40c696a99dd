// A generation job as it runs: `GET /jobs/{id}` polled until it has succeeded or failed, its state and progress
// messages drawn as they come; then, for a job that made a version, that version's score.
import { api, settle } from './api.js';
import { fill, h, time } from './dom.js';
import { evalView } from './scores.js';
import { actionError, badge, errorBox } from './ui.js';

const POLL_MS = 400;
/** Polls that may fail in a row (a restart, a blip) before the watcher gives up. */
const MAX_FAILED_POLLS = 5;

const wait = (msTime) => new Promise((resolve) => setTimeout(resolve, msTime));

const finished = (job) => job.state === 'succeeded' || job.state === 'failed';

function drawJob(box, job) {
  fill(
    box,
    h(
      'div',
      { class: 'job-head' },
      h('strong', {}, job.type === 'create' ? 'Making the first version' : 'Improving'),
      badge(job.state),
      h('span', { class: 'muted small' }, h('code', {}, job.job_id), ' · updated ', time(job.updated_at)),
    ),
    job.progress?.length
      ? h(
          'ol',
          { class: 'job-progress' },
          job.progress.map((m) => h('li', {}, m)),
        )
      : h('p', { class: 'muted small' }, job.state === 'queued' ? 'Waiting for the jobs before it…' : '…'),
    job.state === 'failed'
      ? h(
          'div',
          { class: 'alert alert-error', role: 'alert' },
          h('strong', {}, 'The job failed: '),
          job.error,
        )
      : null,
  );
}

/**
 * Shows the job `jobId` in a box that updates until the job is done. Hands back the `element` and `done`, which
 * resolves to the last job read (or null when the box left the page or the job could not be read).
 */
export function watchJob(jobId) {
  const element = h('div', { class: 'job', role: 'status', 'aria-live': 'polite' });
  const status = h('div');
  const problem = h('div');
  element.append(status, problem);
  fill(status, h('p', { class: 'muted small' }, `Job ${jobId} started…`));
  const done = (async () => {
    let failures = 0;
    for (;;) {
      const r = await settle(api.job(jobId));
      if (r.error) {
        failures += 1;
        fill(problem, errorBox(r.error, `job ${jobId}`));
        if (failures >= MAX_FAILED_POLLS || r.error.status === 404) return null;
      } else {
        failures = 0;
        fill(problem);
        drawJob(status, r.data);
        if (finished(r.data)) return r.data;
      }
      await wait(POLL_MS);
      // the reader went to another page: stop asking
      if (!element.isConnected) return null;
    }
  })();
  return { element, done };
}

/** The version a finished job made, with its score from `GET /loop-apps/{id}/versions/{v}`. */
export async function madeVersion(appId, job) {
  const version = job?.result?.version;
  if (job?.state !== 'succeeded' || !version) return null;
  const r = await settle(api.version(appId, version));
  if (r.error) return actionError(r.error, `Reading ${version}`);
  const v = r.data;
  const decision = job.result.decision;
  return h(
    'div',
    { class: 'job-result' },
    h(
      'h3',
      {},
      `${v.version} `,
      badge(v.status),
      decision ? h('span', { class: 'muted small' }, ` decision: ${decision}`) : null,
    ),
    evalView(v.eval, v.version),
  );
}
