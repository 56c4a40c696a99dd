// New Loop App (#/new): id, name and task; the input fields and output labels (or the JSON Schemas); labelled
// examples pasted or uploaded. It is sent as POST /loop-apps; the job that makes the first version is followed
// until it is done, then the version's score and confusion matrix are shown with a link to the app's page.
import { api, settle } from './api.js';
import { fill, h } from './dom.js';
import { examplesEditor, examplesRefused } from './examples-editor.js';
import { madeVersion, watchJob } from './jobs.js';
import { specForm } from './spec-form.js';
import { formSubmit, panel, toast } from './ui.js';

const ID_PATTERN = '^[a-z0-9][a-z0-9\\-]{1,62}$';

const textField = (id, label, props = {}, help = null) => [
  h('label', { for: id, class: 'spaced' }, label),
  h(props.rows ? 'textarea' : 'input', {
    id,
    class: 'text-input',
    type: props.rows ? undefined : 'text',
    spellcheck: 'false',
    'aria-describedby': help ? `${id}-help` : undefined,
    ...props,
  }),
  help ? h('div', { class: 'muted small', id: `${id}-help` }, help) : null,
];

export async function renderNewApp(root) {
  const value = (id) => root.querySelector(`#${id}`).value.trim();
  let editor = null;
  const spec = specForm({ idPrefix: 'new', onchange: () => editor?.refresh() });
  editor = examplesEditor({ idPrefix: 'new-examples', schemas: spec.read });

  const message = h('div', { id: 'new-message', 'aria-live': 'polite' });
  const progress = h('div', { id: 'new-job' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create the Loop App');

  /** After the 202: the job as it runs, then the version it made. */
  async function follow(id, accepted) {
    const job = watchJob(accepted.job_id);
    const result = h('div', { id: 'new-result' });
    const open = h(
      'p',
      {},
      h('a', { href: `#/apps/${encodeURIComponent(id)}`, class: 'btn btn-primary' }, `Open ${id}`),
    );
    fill(progress, panel({ title: `Creating ${id}`, id: 'new-progress', wide: true }, job.element, result));
    progress.scrollIntoView({ block: 'nearest' });
    const finished = await job.done;
    if (!finished) return;
    if (finished.state === 'succeeded') {
      toast(`${id} is ready: ${finished.result?.version ?? 'a version'} is active`);
      fill(result, await madeVersion(id, finished), open);
    } else {
      fill(result, h('p', {}, `The app ${id} exists, without a version. `), open);
    }
  }

  const send = formSubmit({
    read: () => {
      const body = { loop_app_id: value('new-id'), name: value('new-name'), task: value('new-task') };
      if (!new RegExp(ID_PATTERN).test(body.loop_app_id))
        throw new Error(
          'the id must be 2 to 63 lowercase letters, digits or dashes, starting with a letter or digit',
        );
      if (!body.name) body.name = body.loop_app_id;
      if (!body.task) throw new Error('describe the task: what the app is to decide');
      return { ...body, ...spec.read(), examples: editor.read() };
    },
    invalid: (err) => [h('strong', {}, 'Not sent: '), err.message],
    message,
    button: submit,
    busyText: 'Creating…',
    send: async (body) => {
      fill(message);
      fill(progress);
      const r = await settle(api.createApp(body));
      if (r.error) return fill(message, examplesRefused(r.error, editor, 'Creating the Loop App', 'created'));
      await follow(body.loop_app_id, r.data);
    },
  });

  fill(
    root,
    h('a', { href: '#/', class: 'back' }, '← All Loop Apps'),
    h(
      'div',
      { class: 'page-head' },
      h(
        'div',
        {},
        h('h1', {}, 'New Loop App'),
        h(
          'p',
          { class: 'muted' },
          'Say what the app decides, what it reads and which labels it answers, and give it labelled examples: the server makes and scores a program from them.',
        ),
      ),
    ),
    h(
      'form',
      { class: 'new-app', onsubmit: send, novalidate: true, 'aria-label': 'New Loop App' },
      h(
        'div',
        { class: 'grid' },
        panel(
          { title: 'The app', id: 'new-spec' },
          textField(
            'new-id',
            'Id',
            { placeholder: 'support-router', pattern: ID_PATTERN, required: true },
            'Lowercase letters, digits and dashes; it is the app’s address: POST /loop-apps/{id}/execute.',
          ),
          textField('new-name', 'Name', { placeholder: 'Support router' }),
          textField('new-task', 'Task', {
            rows: 3,
            placeholder: 'Route support messages to the team that answers them',
          }),
        ),
        panel(
          {
            title: 'Input and output',
            id: 'new-io',
            description: 'The fields each input has, and the labels an answer is one of.',
          },
          spec.element,
        ),
        panel(
          {
            title: 'Labelled examples',
            id: 'new-examples',
            wide: true,
            description:
              'Rows with an input and its right answer. For CSV, choose which columns are the input fields and which is the label; numbers and true/false are read as the field types say.',
          },
          editor.element,
        ),
      ),
      message,
      h('div', { class: 'form-row' }, submit),
    ),
    progress,
  );
}
