// Made by the Loopai offline learner: a linear text classifier. Its weights are in model.json.
var MODEL = JSON.parse(loopai.files['model.json']);

function featurize(input, spec) {
    const words = Object.create(null);
    const chars = Object.create(null);
    const obj = input !== null && typeof input === 'object' ? input : { value: input };
    for (let f = 0; f < spec.fields.length; f++) {
        const value = obj[spec.fields[f]];
        if (value === undefined || value === null)
            continue;
        const prefix = spec.fieldAware ? f + ':' : '';
        if (typeof value !== 'string') {
            const token = 'w|' + spec.fields[f] + '=' + String(value);
            words[token] = (words[token] || 0) + 1;
            continue;
        }
        const tokens = value.toLowerCase().match(/[\p{L}\p{N}]+(?:['’][\p{L}]+)?|[!?$£€%&*@#]/gu) || [];
        for (let i = 0; i < tokens.length; i++) {
            const uni = prefix + 'w|' + tokens[i];
            words[uni] = (words[uni] || 0) + 1;
            if (i > 0) {
                const bi = prefix + 'w|' + tokens[i - 1] + ' ' + tokens[i];
                words[bi] = (words[bi] || 0) + 1;
            }
        }
        const pieces = value.toLowerCase().split(/\s+/);
        for (let p = 0; p < pieces.length; p++) {
            if (!pieces[p])
                continue;
            const padded = ' ' + pieces[p] + ' ';
            for (let n = spec.charMin; n <= spec.charMax; n++) {
                if (padded.length < n)
                    break;
                for (let i = 0; i + n <= padded.length; i++) {
                    const gram = 'c|' + padded.slice(i, i + n);
                    chars[gram] = (chars[gram] || 0) + 1;
                }
            }
        }
    }
    return { words, chars };
}

function scoreModel(model, input) {
    const counts = featurize(input, model.spec);
    const k = model.bias.length;
    const scores = model.bias.slice();
    const blocks = [counts.words, counts.chars];
    for (let b = 0; b < blocks.length; b++) {
        const block = blocks[b];
        let norm = 0;
        const hits = [];
        for (const term in block) {
            const entry = model.features[term];
            if (!entry)
                continue;
            const v = (1 + Math.log(block[term])) * entry[0];
            norm += v * v;
            hits.push([entry, v]);
        }
        if (norm === 0)
            continue;
        const inv = 1 / Math.sqrt(norm);
        for (let h = 0; h < hits.length; h++) {
            const entry = hits[h][0];
            const v = hits[h][1] * inv;
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
  var label = MODEL.labels[s.label];
  var result = MODEL.field === null ? label : { [MODEL.field]: label };
  return { result: result, confidence: Math.round(s.confidence * 10000) / 10000 };
}
