// Add examples: labelled rows pasted or uploaded (JSONL, or CSV mapped onto the input fields), checked against
// the app's schemas by the server and appended to its examples; a refused row is marked in the preview.
import { api, settle } from '../api.js';
import { fill, h, num } from '../dom.js';
import { examplesEditor, examplesRefused } from '../examples-editor.js';
import { formSubmit, panel, toast } from '../ui.js';

export function addExamplesPanel(page) {
  const editor = examplesEditor({
    idPrefix: 'add-examples',
    schemas: () => ({ input_schema: page.app.input_schema, output_schema: page.app.output_schema }),
  });
  const message = h('div', { id: 'add-examples-message', 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Add the examples');
  const send = formSubmit({
    read: () => editor.read(),
    invalid: (err) => [h('strong', {}, 'Not sent: '), err.message],
    message,
    button: submit,
    busyText: 'Adding…',
    send: async (examples) => {
      fill(message);
      const r = await settle(api.addExamples(page.id, examples));
      if (r.error) return fill(message, examplesRefused(r.error, editor, 'Adding the examples'));
      const text = `${num(r.data.added)} example${r.data.added === 1 ? '' : 's'} added; ${num(r.data.total)} in all`;
      toast(text);
      editor.reset();
      fill(
        message,
        h(
          'p',
          { class: 'alert alert-muted', role: 'status' },
          h('strong', {}, `${text}. `),
          'Start improvement (under Versions) makes a version that learns from them.',
        ),
      );
    },
  });
  const element = panel(
    {
      title: 'Add examples',
      id: 'add-examples',
      description:
        'More labelled rows for this app. They are checked against its schemas; if any row does not fit, none is stored.',
    },
    h(
      'form',
      { onsubmit: send, 'aria-label': 'Add examples' },
      editor.element,
      message,
      h('div', { class: 'form-row' }, submit),
    ),
  );
  /** The schemas the rows were read against: the preview is read again only when they change. */
  let schemas = JSON.stringify([page.app.input_schema, page.app.output_schema]);
  const refresh = () => {
    const now = JSON.stringify([page.app.input_schema, page.app.output_schema]);
    if (now !== schemas) editor.refresh();
    schemas = now;
  };
  return { element, refresh };
}
