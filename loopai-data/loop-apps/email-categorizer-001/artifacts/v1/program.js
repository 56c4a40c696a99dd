// Made by the Loopai offline learner: a linear text classifier. What it learned is in model.json and
// weights.bin.b64 (layout in model.json); this file is the same for every model it makes.
function isWordUnit(c) {
    if (c < 0xc0)
        return (c >= 97 && c <= 122) || (c >= 48 && c <= 57);
    return (c !== 0xd7 &&
        c !== 0xf7 &&
        !(c >= 0x2000 && c <= 0x2bff) &&
        !(c >= 0x3000 && c <= 0x303f) &&
        !(c >= 0xd800 && c <= 0xdfff) &&
        !(c >= 0xfe30 && c <= 0xfe4f) &&
        !(c >= 0xff00 && c <= 0xff0f));
}

function isSymbolUnit(c) {
    return (c === 33 ||
        c === 63 ||
        c === 36 ||
        c === 0xa3 ||
        c === 0x20ac ||
        c === 37 ||
        c === 38 ||
        c === 42 ||
        c === 64 ||
        c === 35);
}

function isSpaceUnit(c) {
    return (c <= 32 ||
        c === 0xa0 ||
        c === 0x1680 ||
        (c >= 0x2000 && c <= 0x200a) ||
        c === 0x2028 ||
        c === 0x2029 ||
        c === 0x202f ||
        c === 0x205f ||
        c === 0x3000 ||
        c === 0xfeff);
}

function hashFeatures(input, spec, out) {
    const PRIME = 16777619;
    const WORD = 0x811c9dc5;
    const BIGRAM = 0x5bd1e995;
    const CHAR = 0x2f1b3c4d;
    const span = spec.charMax - spec.charMin + 1;
    const obj = input !== null && typeof input === 'object' ? input : { value: input };
    let h = out.h;
    let n = 0;
    let units = out.units;
    const texts = [];
    for (let pass = 0; pass < 2; pass++) {
        if (pass === 1)
            out.words = n;
        for (let f = 0; f < spec.fields.length; f++) {
            const field = spec.fields[f];
            // no array per call for a top-level field (the common case, on the execute path)
            const first = typeof field === 'string' ? field : field[0];
            // own fields only: a field named like an Object.prototype member must not read the inherited value
            let value = Object.prototype.hasOwnProperty.call(obj, first) ? obj[first] : undefined;
            for (let p = 1; typeof field !== 'string' && p < field.length; p++) {
                value =
                    value !== null && typeof value === 'object' && Object.prototype.hasOwnProperty.call(value, field[p])
                        ? value[field[p]]
                        : undefined;
            }
            if (value === undefined || value === null)
                continue;
            const text = typeof value === 'string';
            if (pass === 0)
                texts[f] = text
                    ? value.toLowerCase()
                    : (typeof field === 'string' ? field : field.join('.')) + '=' + String(value);
            else if (!text)
                continue;
            const s = texts[f];
            const len = s.length;
            // room for every feature this text can give: two per unit as words, `span` per padded unit as characters
            const need = n + len * (3 * span + 2) + 8;
            if (h.length < need) {
                const grown = new Uint32Array(Math.max(need, h.length * 2));
                grown.set(h.subarray(0, n));
                h = out.h = grown;
            }
            if (pass === 0 && !text) {
                let t = WORD;
                for (let i = 0; i < len; i++)
                    t = Math.imul(t ^ s.charCodeAt(i), PRIME);
                h[n++] = t >>> 0;
            }
            else if (pass === 0) {
                const seed = spec.fieldAware ? (WORD ^ Math.imul(f + 1, 0x27d4eb2d)) >>> 0 : WORD;
                let prev = 0;
                let hasPrev = false;
                let i = 0;
                while (i < len) {
                    let c = s.charCodeAt(i);
                    let t = seed;
                    if (isWordUnit(c)) {
                        let apostrophe = false;
                        for (; i < len; i++) {
                            c = s.charCodeAt(i);
                            if (!isWordUnit(c)) {
                                // one apostrophe before a letter stays inside the word: don't, it's
                                const next = i + 1 < len ? s.charCodeAt(i + 1) : 0;
                                if (apostrophe || (c !== 39 && c !== 0x2019) || next < 97 || next > 122)
                                    break;
                                apostrophe = true;
                            }
                            t = Math.imul(t ^ c, PRIME);
                        }
                    }
                    else if (isSymbolUnit(c)) {
                        t = Math.imul(t ^ c, PRIME);
                        i++;
                    }
                    else {
                        i++;
                        continue;
                    }
                    t >>>= 0;
                    h[n++] = t;
                    if (hasPrev)
                        h[n++] = Math.imul(Math.imul(prev, 0x9e3779b1) ^ t ^ BIGRAM, PRIME) >>> 0;
                    prev = t;
                    hasPrev = true;
                }
            }
            else {
                // characters: each whitespace-separated piece padded with a space on both sides
                let start = 0;
                while (start < len) {
                    if (isSpaceUnit(s.charCodeAt(start))) {
                        start++;
                        continue;
                    }
                    let end = start + 1;
                    while (end < len && !isSpaceUnit(s.charCodeAt(end)))
                        end++;
                    const padded = end - start + 2;
                    if (units.length < padded)
                        units = new Int32Array(padded * 2);
                    units[0] = 32;
                    for (let b = 1; b < padded - 1; b++)
                        units[b] = s.charCodeAt(start + b - 1);
                    units[padded - 1] = 32;
                    for (let a = 0; a + spec.charMin <= padded; a++) {
                        let t = CHAR;
                        const stop = Math.min(a + spec.charMax, padded);
                        for (let b = a; b < a + spec.charMin - 1; b++)
                            t = Math.imul(t ^ units[b], PRIME);
                        for (let b = a + spec.charMin - 1; b < stop; b++) {
                            t = Math.imul(t ^ units[b], PRIME);
                            h[n++] = t >>> 0;
                        }
                    }
                    start = end;
                }
            }
        }
    }
    out.n = n;
    out.units = units;
}

function decodeBase64(text) {
    const table = new Int16Array(128).fill(-1);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    for (let i = 0; i < 64; i++)
        table[alphabet.charCodeAt(i)] = i;
    let len = text.length;
    while (len > 0 && text.charCodeAt(len - 1) === 61)
        len--;
    const size = Math.floor((len * 3) / 4);
    const out = new Uint8Array(new ArrayBuffer(Math.ceil(size / 4) * 4), 0, size);
    let bits = 0;
    let acc = 0;
    let j = 0;
    for (let i = 0; i < len; i++) {
        const c = text.charCodeAt(i);
        const v = c < 128 ? table[c] : -1;
        if (v < 0)
            throw new Error('weights: not base64');
        acc = (acc << 6) | v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[j++] = (acc >>> bits) & 255;
        }
    }
    return out;
}

function prepareModel(info, bytes) {
    if (bytes.byteOffset % 4 || bytes.length < 32)
        throw new Error('weights: block too short or misaligned');
    const head = new Uint32Array(bytes.buffer, bytes.byteOffset, 8);
    const K = head[2];
    const F = head[3];
    const wordF = head[4];
    const bits = head[5];
    if (head[0] !== 0x3157504c || head[1] !== 1)
        throw new Error('weights: not an LPW1 block');
    const labels = info.output.labels.length;
    if (K !== (labels === 2 ? 1 : labels) || wordF > F || (bits !== 8 && bits !== 16))
        throw new Error('weights: the header does not match model.json');
    const need = 32 + 8 * F + 8 * K + (F * K * bits) / 8;
    if (bytes.length < need)
        throw new Error('weights: block shorter than its header says');
    let at = bytes.byteOffset + 32;
    const keys = new Uint32Array(bytes.buffer, at, F);
    const idf = new Float32Array(bytes.buffer, (at += 4 * F), F);
    const scale = new Float32Array(bytes.buffer, (at += 4 * F), K);
    const bias = new Float32Array(bytes.buffer, (at += 4 * K), K);
    at += 4 * K;
    const w = bits === 8 ? new Int8Array(bytes.buffer, at, F * K) : new Int16Array(bytes.buffer, at, F * K);
    let cap = 16;
    while (cap < 2 * F)
        cap *= 2;
    const table = new Int32Array(cap).fill(-1);
    const shift = 32 - Math.round(Math.log2(cap));
    for (let f = 0; f < F; f++) {
        let slot = Math.imul(keys[f], 0x9e3779b1) >>> shift;
        while (table[slot] !== -1)
            slot = (slot + 1) & (cap - 1);
        table[slot] = f;
    }
    return { info, K, F, wordF, keys, table, shift, mask: cap - 1, idf, scale, bias, w };
}

function newScratch() {
    const logTf = new Float64Array(256);
    for (let c = 1; c < 256; c++)
        logTf[c] = 1 + Math.log(c);
    return {
        hashes: { h: new Uint32Array(1024), n: 0, words: 0, units: new Int32Array(64) },
        mark: new Int32Array(0),
        count: new Int32Array(0),
        touched: new Int32Array(0),
        value: new Float64Array(0),
        stamp: 0,
        logTf,
        acc: new Float64Array(0),
        scores: new Float64Array(0),
    };
}

function scoreHashes(p, s) {
    const { keys, table, shift, mask, wordF, K } = p;
    if (s.mark.length < p.F) {
        s.mark = new Int32Array(p.F);
        s.count = new Int32Array(p.F);
        s.touched = new Int32Array(p.F);
        s.value = new Float64Array(p.F);
        s.stamp = 0;
    }
    if (s.acc.length < K) {
        s.acc = new Float64Array(K);
        s.scores = new Float64Array(K);
    }
    const { mark, count, touched } = s;
    if (s.stamp >= 0x7fffffff) {
        mark.fill(0);
        s.stamp = 0;
    }
    const stamp = ++s.stamp;
    const H = s.hashes;
    const h = H.h;
    let distinct = 0;
    for (let i = 0; i < H.n; i++) {
        const key = h[i];
        const word = i < H.words;
        let slot = Math.imul(key, 0x9e3779b1) >>> shift;
        let row = table[slot];
        // a word and an n-gram may share a hash: the row must be of the occurrence's block
        while (row !== -1 && (keys[row] !== key || row < wordF !== word)) {
            slot = (slot + 1) & mask;
            row = table[slot];
        }
        if (row === -1)
            continue;
        if (mark[row] !== stamp) {
            mark[row] = stamp;
            count[row] = 1;
            touched[distinct++] = row;
        }
        else
            count[row]++;
    }
    const { idf, w } = p;
    const { value, logTf, acc, scores } = s;
    let wordNorm = 0;
    let charNorm = 0;
    for (let t = 0; t < distinct; t++) {
        const row = touched[t];
        const c = count[row];
        const v = (c < 256 ? logTf[c] : 1 + Math.log(c)) * idf[row];
        value[t] = v;
        if (row < wordF)
            wordNorm += v * v;
        else
            charNorm += v * v;
    }
    const wordInv = wordNorm > 0 ? 1 / Math.sqrt(wordNorm) : 0;
    const charInv = charNorm > 0 ? 1 / Math.sqrt(charNorm) : 0;
    for (let k = 0; k < K; k++)
        acc[k] = 0;
    for (let t = 0; t < distinct; t++) {
        const row = touched[t];
        const v = value[t] * (row < wordF ? wordInv : charInv);
        const base = row * K;
        for (let k = 0; k < K; k++)
            acc[k] += w[base + k] * v;
    }
    const T = p.info.temperature;
    for (let k = 0; k < K; k++)
        scores[k] = p.bias[k] + p.scale[k] * acc[k];
    if (K === 1) {
        const q = 1 / (1 + Math.exp(-T * scores[0]));
        return scores[0] > 0 ? { label: 1, confidence: q } : { label: 0, confidence: 1 - q };
    }
    let best = 0;
    for (let k = 1; k < K; k++)
        if (scores[k] > scores[best])
            best = k;
    let sum = 0;
    for (let k = 0; k < K; k++)
        sum += Math.exp(T * (scores[k] - scores[best]));
    return { label: best, confidence: 1 / sum };
}

var MODEL = (function () {
  var info = JSON.parse(loopai.files['model.json']);
  return prepareModel(info, decodeBase64(loopai.files[info.weights.file]));
})();
var SCRATCH = newScratch();

function execute(input) {
  hashFeatures(input, MODEL.info.spec, SCRATCH.hashes);
  var s = scoreHashes(MODEL, SCRATCH);
  var out = MODEL.info.output;
  var label = out.labels[s.label];
  return { result: out.field === null ? label : { [out.field]: label }, confidence: Math.round(s.confidence * 10000) / 10000 };
}
