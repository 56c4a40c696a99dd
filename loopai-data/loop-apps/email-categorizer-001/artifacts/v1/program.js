// Made by the Loopai offline learner: a linear text classifier. Its weights are in model.json.
function prepare(model) {
    return { model, blocks: model.blocks.map((block) => new Map(Object.entries(block))) };
}

var MODEL = prepare(JSON.parse(loopai.files['model.json']));

function featurize(input, spec) {
    const words = new Map();
    const chars = new Map();
    const obj = input !== null && typeof input === 'object' ? input : { value: input };
    for (let f = 0; f < spec.fields.length; f++) {
        const value = obj[spec.fields[f]];
        if (value === undefined || value === null)
            continue;
        if (typeof value !== 'string') {
            const token = spec.fields[f] + '=' + String(value);
            words.set(token, (words.get(token) || 0) + 1);
            continue;
        }
        const prefix = spec.fieldAware ? f + ':' : '';
        const lower = value.toLowerCase();
        const tokens = lower.match(/[\p{L}\p{N}]+(?:['’][\p{L}]+)?|[!?$£€%&*@#]/gu) || [];
        for (let i = 0; i < tokens.length; i++) {
            const uni = prefix + tokens[i];
            words.set(uni, (words.get(uni) || 0) + 1);
            if (i > 0) {
                const bi = prefix + tokens[i - 1] + ' ' + tokens[i];
                words.set(bi, (words.get(bi) || 0) + 1);
            }
        }
        const pieces = lower.split(/\s+/);
        for (let p = 0; p < pieces.length; p++) {
            if (!pieces[p])
                continue;
            const padded = ' ' + pieces[p] + ' ';
            for (let n = spec.charMin; n <= spec.charMax && n <= padded.length; n++) {
                for (let i = 0; i + n <= padded.length; i++) {
                    const gram = padded.slice(i, i + n);
                    chars.set(gram, (chars.get(gram) || 0) + 1);
                }
            }
        }
    }
    return [words, chars];
}

function scoreModel(prepared, input) {
    const model = prepared.model;
    const counts = featurize(input, model.spec);
    const k = model.bias.length;
    const scores = model.bias.slice();
    for (let b = 0; b < counts.length; b++) {
        const terms = prepared.blocks[b];
        let norm = 0;
        const entries = [];
        const values = [];
        counts[b].forEach((count, term) => {
            const entry = terms.get(term);
            if (!entry)
                return;
            const v = (1 + Math.log(count)) * entry[0];
            norm += v * v;
            entries.push(entry);
            values.push(v);
        });
        if (norm === 0)
            continue;
        const inv = 1 / Math.sqrt(norm);
        for (let h = 0; h < entries.length; h++) {
            const entry = entries[h];
            const v = values[h] * inv;
            for (let c = 0; c < k; c++)
                scores[c] += entry[c + 1] * v;
        }
    }
    if (k === 1) {
        const p = 1 / (1 + Math.exp(-model.temperature * scores[0]));
        return scores[0] > 0 ? { label: 1, confidence: p, scores } : { label: 0, confidence: 1 - p, scores };
    }
    let best = 0;
    for (let c = 1; c < k; c++)
        if (scores[c] > scores[best])
            best = c;
    let sum = 0;
    for (let c = 0; c < k; c++)
        sum += Math.exp(model.temperature * (scores[c] - scores[best]));
    return { label: best, confidence: 1 / sum, scores };
}

function execute(input) {
  var s = scoreModel(MODEL, input);
  var label = MODEL.model.labels[s.label];
  var result = MODEL.model.field === null ? label : { [MODEL.model.field]: label };
  return { result: result, confidence: Math.round(s.confidence * 10000) / 10000 };
}
