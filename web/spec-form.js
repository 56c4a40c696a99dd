// The input and output of a new app: input fields (name and type) and output labels, or, under "Advanced",
// the JSON Schemas themselves. `read()` gives `{input_schema, output_schema}` or throws saying what to fix.
import { fill, h, pretty } from './dom.js';

const TYPES = ['string', 'number', 'integer', 'boolean'];

/** Labels from "spam, ham, work": trimmed, blanks left out. */
const labelsOf = (text) =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** A JSON Schema from a text area, or an Error saying where it does not parse. */
function parseSchema(text, what) {
  let schema;
  try {
    schema = JSON.parse(text);
  } catch (err) {
    throw new Error(`the ${what} is not valid JSON: ${err.message}`);
  }
  if (!schema || typeof schema !== 'object' || Array.isArray(schema))
    throw new Error(`the ${what} must be a JSON object (a JSON Schema)`);
  return schema;
}

/** `onchange()` runs after every edit, so what depends on the schemas (the examples' preview) can follow. */
export function specForm({ idPrefix, onchange }) {
  const fieldList = h('ol', { class: 'field-list' });
  const labels = h('input', {
    id: `${idPrefix}-labels`,
    type: 'text',
    class: 'text-input',
    placeholder: 'spam, ham',
    spellcheck: 'false',
    oninput: () => changed(),
  });
  const simpleMessage = h('div', { 'aria-live': 'polite' });
  const advanced = h('input', { id: `${idPrefix}-advanced`, type: 'checkbox', onchange: () => toggle() });
  const schemaArea = (which) =>
    h('textarea', {
      id: `${idPrefix}-${which}-schema`,
      rows: 10,
      spellcheck: 'false',
      class: 'code-input',
      oninput: () => changed(),
    });
  const inputArea = schemaArea('input');
  const outputArea = schemaArea('output');
  const inputError = h('div', { class: 'field-error', 'aria-live': 'polite' });
  const outputError = h('div', { class: 'field-error', 'aria-live': 'polite' });

  const simpleBox = h(
    'div',
    {},
    h('div', { class: 'result-label', id: `${idPrefix}-fields-label` }, 'Input fields'),
    fieldList,
    h('button', { type: 'button', class: 'btn btn-small', onclick: () => addField() }, 'Add a field'),
    h('label', { for: `${idPrefix}-labels`, class: 'spaced' }, 'Output labels (comma-separated)'),
    labels,
    simpleMessage,
  );
  const advancedBox = h(
    'div',
    { hidden: true },
    h('label', { for: inputArea.id }, 'Input schema (JSON Schema)'),
    inputArea,
    inputError,
    h('label', { for: outputArea.id, class: 'spaced' }, 'Output schema (JSON Schema)'),
    outputArea,
    outputError,
  );

  let counter = 0;
  function addField(name = '', type = 'string') {
    counter += 1;
    const n = counter;
    const nameInput = h('input', {
      id: `${idPrefix}-field-${n}-name`,
      type: 'text',
      class: 'text-input field-name',
      value: name,
      spellcheck: 'false',
      oninput: () => changed(),
    });
    const typeSelect = h(
      'select',
      { id: `${idPrefix}-field-${n}-type`, class: 'field-type', onchange: () => changed() },
      TYPES.map((t) => h('option', { value: t, selected: t === type }, t)),
    );
    const row = h(
      'li',
      { class: 'field-row' },
      h('label', { for: nameInput.id, class: 'visually-hidden' }, 'Field name'),
      nameInput,
      h('label', { for: typeSelect.id, class: 'visually-hidden' }, 'Field type'),
      typeSelect,
      h(
        'button',
        {
          type: 'button',
          class: 'btn btn-small btn-ghost',
          onclick: () => {
            row.remove();
            relabel();
            changed();
          },
        },
        'Remove',
      ),
    );
    fieldList.append(row);
    relabel();
    changed();
    return row;
  }

  /** Numbers the rows' labels ("Field 2 name", "Remove field 2") as they stand after adds and removals. */
  function relabel() {
    [...fieldList.children].forEach((row, i) => {
      const [nameLabel, , typeLabel, , remove] = row.children;
      fill(nameLabel, `Field ${i + 1} name`);
      fill(typeLabel, `Field ${i + 1} type`);
      remove.setAttribute('aria-label', `Remove field ${i + 1}`);
    });
  }

  /** The schemas the simple controls describe. */
  function simpleSchemas() {
    const fields = [...fieldList.children].map((row) => ({
      name: row.querySelector('.field-name').value.trim(),
      type: row.querySelector('.field-type').value,
    }));
    if (!fields.length) throw new Error('add at least one input field');
    if (fields.some((f) => !f.name)) throw new Error('every input field needs a name');
    const names = fields.map((f) => f.name);
    const twice = names.find((n, i) => names.indexOf(n) !== i);
    if (twice) throw new Error(`the input field “${twice}” is there twice`);
    const enumValues = labelsOf(labels.value);
    if (!enumValues.length) throw new Error('name the output labels, separated by commas');
    const again = enumValues.find((n, i) => enumValues.indexOf(n) !== i);
    if (again) throw new Error(`the output label “${again}” is there twice`);
    return {
      input_schema: {
        type: 'object',
        properties: Object.fromEntries(fields.map((f) => [f.name, { type: f.type }])),
        required: names,
      },
      output_schema: { type: 'string', enum: enumValues },
    };
  }

  function advancedSchemas() {
    const errors = [];
    const parsed = [
      [inputArea, inputError, 'input schema'],
      [outputArea, outputError, 'output schema'],
    ].map(([area, box, what]) => {
      try {
        const schema = parseSchema(area.value, what);
        fill(box);
        return schema;
      } catch (err) {
        fill(box, err.message);
        errors.push(err.message);
        return null;
      }
    });
    if (errors.length) throw new Error(errors.join('; '));
    return { input_schema: parsed[0], output_schema: parsed[1] };
  }

  const read = () => (advanced.checked ? advancedSchemas() : simpleSchemas());

  function changed() {
    if (!advanced.checked) {
      try {
        simpleSchemas();
        fill(simpleMessage);
      } catch (err) {
        fill(simpleMessage, h('p', { class: 'field-error' }, err.message));
      }
    } else {
      try {
        advancedSchemas();
      } catch {
        // each text area shows its own error
      }
    }
    onchange?.();
  }

  /** Into "Advanced", the text areas start from what the simple controls say (when that is complete). */
  function toggle() {
    if (advanced.checked) {
      try {
        const { input_schema, output_schema } = simpleSchemas();
        if (!inputArea.value.trim()) inputArea.value = pretty(input_schema);
        if (!outputArea.value.trim()) outputArea.value = pretty(output_schema);
      } catch {
        inputArea.value ||= pretty({ type: 'object', properties: {}, required: [] });
        outputArea.value ||= pretty({ type: 'string', enum: [] });
      }
    }
    simpleBox.hidden = advanced.checked;
    advancedBox.hidden = !advanced.checked;
    changed();
  }

  addField('text', 'string');
  const element = h(
    'div',
    { class: 'spec-form' },
    h(
      'div',
      { class: 'check-row' },
      advanced,
      h('label', { for: advanced.id }, 'Advanced: write the input and output JSON Schemas'),
    ),
    simpleBox,
    advancedBox,
  );
  return { element, read };
}
