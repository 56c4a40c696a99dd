/**
 * The SDK's hand-written types (src/types.ts) against the JSON Schemas of the server's OpenAPI document, with the
 * TypeScript compiler's type checker: for a schema and the interface that stands for it, the same property names,
 * the same required-ness, and the same types all the way down (string, number, boolean, null, enums as unions of
 * literals, arrays, tuples, nested objects, maps, `anyOf` branches).
 *
 * A schema that says nothing of its value (`{}`, or only a description: `output`, `input`, …) accepts any SDK type;
 * an object schema without `properties` accepts any object type. Everything else must agree both ways.
 */

import path from 'node:path';
import ts from 'typescript';

export type Schema = Record<string, unknown>;

export interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}

export interface Operation {
  operationId: string;
  parameters?: Array<{ name: string; in: string }>;
  requestBody?: { content: Record<string, { schema?: Schema }> };
  responses: Record<string, { content?: Record<string, { schema?: Schema }> }>;
}

/**
 * What disagrees. `path` names the place in src/types.ts where it is declared (`LoopApp.sampling.rate`, also when
 * reached as `LoopAppList.loop_apps[].sampling.rate`), `seenAs` the way the comparison reached it.
 */
export interface Problem {
  path: string;
  seenAs: string;
  kind: 'missing-in-sdk' | 'not-in-document' | 'required-only-in-sdk' | 'optional-only-in-sdk' | 'type';
  message: string;
}

export const describeProblem = (p: Problem) =>
  `${p.path}${p.seenAs === p.path ? '' : ` (as ${p.seenAs})`}: ${p.message} [${p.kind}]`;

/** Where the comparison is: the path it took, and the SDK declaration there when it is one of src/types.ts. */
export interface Where {
  at: string;
  decl?: string;
}

/** `LoopApp.sampling.rate` for the declaration of `rate` in `sampling: {…}` of `interface LoopApp`. */
function declarationPath(node: ts.Node | undefined): string | undefined {
  if (!node || !path.resolve(node.getSourceFile().fileName).startsWith(SRC + path.sep)) return undefined;
  const parts: string[] = [];
  for (let n: ts.Node | undefined = node; n; n = n.parent) {
    if (ts.isPropertySignature(n)) parts.unshift(ts.isIdentifier(n.name) ? n.name.text : n.name.getText());
    if (ts.isInterfaceDeclaration(n) || ts.isTypeAliasDeclaration(n)) {
      parts.unshift(n.name.text);
      return parts.join('.');
    }
  }
  return undefined;
}

/** The declaration path of an object type of src/types.ts (an interface or an inline `{…}`). */
function typeDeclarationPath(type: ts.Type): string | undefined {
  const symbol = type.aliasSymbol ?? type.getSymbol();
  return declarationPath(symbol?.declarations?.[0]);
}

const SRC = path.resolve(__dirname, '..', 'src');

/** The SDK's sources, type-checked as the build does. */
export function loadSdk() {
  const files = ['types.ts', 'client.ts'].map((f) => path.join(SRC, f));
  const program = ts.createProgram(files, {
    strict: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
    types: [],
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const exportsOf = (file: string) => {
    const source = program.getSourceFile(path.join(SRC, file));
    const moduleSymbol = source && checker.getSymbolAtLocation(source);
    if (!moduleSymbol) throw new Error(`cannot read src/${file}`);
    return new Map(checker.getExportsOfModule(moduleSymbol).map((s) => [s.name, s]));
  };
  const types = exportsOf('types.ts');
  return {
    checker,
    /** The exported type or interface of src/types.ts called `name`. */
    type(name: string): ts.Type {
      const symbol = types.get(name);
      if (!symbol) throw new Error(`src/types.ts exports no type ${name}`);
      return checker.getDeclaredTypeOfSymbol(symbol);
    },
    /** Public methods of LoopaiClient, each with the names of the types its overloads resolve to. */
    clientMethods(): Map<string, string[]> {
      const cls = exportsOf('client.ts').get('LoopaiClient');
      if (!cls) throw new Error('src/client.ts exports no LoopaiClient');
      const instance = checker.getDeclaredTypeOfSymbol(cls);
      const methods = new Map<string, string[]>();
      for (const member of checker.getPropertiesOfType(instance)) {
        const decl = member.valueDeclaration;
        if (!decl || !ts.isMethodDeclaration(decl)) continue;
        const modifiers = ts.getCombinedModifierFlags(decl);
        if (modifiers & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) continue;
        const names = new Set<string>();
        for (const signature of checker.getTypeOfSymbol(member).getCallSignatures()) {
          const resolved = checker.getAwaitedType(signature.getReturnType()) ?? signature.getReturnType();
          for (const t of resolved.isUnion() ? resolved.types : [resolved]) {
            names.add((t.aliasSymbol ?? t.getSymbol())?.name ?? checker.typeToString(t));
          }
        }
        methods.set(member.name, [...names]);
      }
      return methods;
    },
  };
}

// --- JSON Schema side ---------------------------------------------------------------------------------------------

const SHAPE_KEYWORDS = ['type', 'enum', 'const', 'anyOf', 'oneOf', 'allOf', 'properties', 'items', '$ref'];

/** Follows `$ref`s into `components.schemas`, and merges an `allOf` of objects into one object schema. */
export function resolve(doc: OpenApiDocument, schema: Schema): Schema {
  let s = schema;
  for (let i = 0; typeof s.$ref === 'string'; i++) {
    const name = /^#\/components\/schemas\/(.+)$/.exec(s.$ref)?.[1];
    const target = name === undefined ? undefined : doc.components.schemas[name];
    if (!target || i > 20) throw new Error(`cannot resolve ${s.$ref}`);
    s = target;
  }
  if (Array.isArray(s.allOf)) {
    const parts = (s.allOf as Schema[]).map((part) => resolve(doc, part));
    return {
      type: 'object',
      properties: Object.assign({}, ...parts.map((p) => p.properties ?? {})) as Schema,
      required: [...new Set(parts.flatMap((p) => (p.required as string[] | undefined) ?? []))],
    };
  }
  return s;
}

const saysNothing = (s: Schema) => !SHAPE_KEYWORDS.some((k) => k in s);

type Atom =
  | { kind: 'null' | 'string' | 'number' | 'boolean' }
  | { kind: 'literal'; value: string | number | boolean }
  | { kind: 'object' | 'array'; schema: Schema };

/** A schema as the alternatives it allows. */
function schemaAtoms(doc: OpenApiDocument, schema: Schema): Atom[] {
  const s = resolve(doc, schema);
  const branches = (s.anyOf ?? s.oneOf) as Schema[] | undefined;
  if (branches) return branches.flatMap((b) => schemaAtoms(doc, b));
  if (Array.isArray(s.enum)) {
    return (s.enum as Array<string | number | boolean | null>).map((value) =>
      value === null ? { kind: 'null' } : { kind: 'literal', value },
    );
  }
  if ('const' in s) return [{ kind: 'literal', value: s.const as string }];
  const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string | undefined];
  return types.map((type): Atom => {
    if (type === 'integer' || type === 'number') return { kind: 'number' };
    if (type === 'null' || type === 'string' || type === 'boolean') return { kind: type };
    if (type === 'array') return { kind: 'array', schema: s };
    return { kind: 'object', schema: s }; // type object, or properties without a type
  });
}

// --- TypeScript side ----------------------------------------------------------------------------------------------

type TsAtom =
  | { kind: 'null' | 'string' | 'number' | 'boolean' | 'unknown' }
  | { kind: 'literal'; value: string | number | boolean }
  | { kind: 'object' | 'array'; type: ts.Type };

function tsAtoms(checker: ts.TypeChecker, type: ts.Type): TsAtom[] {
  const parts = type.isUnion() ? type.types : [type];
  const atoms: TsAtom[] = [];
  const booleans: boolean[] = [];
  for (const t of parts) {
    const f = t.flags;
    if (f & (ts.TypeFlags.Undefined | ts.TypeFlags.Void | ts.TypeFlags.Never)) continue;
    if (f & (ts.TypeFlags.Any | ts.TypeFlags.Unknown | ts.TypeFlags.TypeParameter))
      atoms.push({ kind: 'unknown' });
    else if (f & ts.TypeFlags.Null) atoms.push({ kind: 'null' });
    else if (f & ts.TypeFlags.String) atoms.push({ kind: 'string' });
    else if (f & ts.TypeFlags.Number) atoms.push({ kind: 'number' });
    else if (f & ts.TypeFlags.BooleanLiteral) booleans.push(checker.typeToString(t) === 'true');
    else if (t.isStringLiteral() || t.isNumberLiteral()) atoms.push({ kind: 'literal', value: t.value });
    else if (checker.isArrayType(t) || checker.isTupleType(t)) atoms.push({ kind: 'array', type: t });
    else if (f & (ts.TypeFlags.Object | ts.TypeFlags.Intersection)) atoms.push({ kind: 'object', type: t });
    else atoms.push({ kind: 'unknown' });
  }
  if (booleans.length === 2) atoms.push({ kind: 'boolean' });
  else if (booleans.length === 1) atoms.push({ kind: 'literal', value: booleans[0] });
  return atoms;
}

// --- the comparison -----------------------------------------------------------------------------------------------

const SIMPLE = ['null', 'string', 'number', 'boolean'] as const;

const child = (where: Where, step: string, decl?: string): Where => ({
  at: `${where.at}${step}`,
  decl: decl ?? (where.decl === undefined ? undefined : `${where.decl}${step}`),
});

/** Every disagreement between `schema` (of `doc`) and the SDK type `type`. */
export function compare(
  doc: OpenApiDocument,
  checker: ts.TypeChecker,
  schema: Schema,
  type: ts.Type,
  where: Where,
): Problem[] {
  const s = resolve(doc, schema);
  if (saysNothing(s)) return [];
  const problems: Problem[] = [];
  const problem = (message: string) =>
    problems.push({ path: where.decl ?? where.at, seenAs: where.at, kind: 'type', message });
  const want = schemaAtoms(doc, s);
  const have = tsAtoms(checker, type);
  const shown = checker.typeToString(type);

  if (have.some((a) => a.kind === 'unknown')) {
    problem(`the SDK says ${shown}, the document ${JSON.stringify(s)}`);
    return problems;
  }
  for (const kind of SIMPLE) {
    const inDoc = want.some((a) => a.kind === kind);
    const inSdk = have.some((a) => a.kind === kind);
    if (inDoc && !inSdk) problem(`the document allows ${kind}, the SDK type ${shown} does not`);
    if (inSdk && !inDoc) problem(`the SDK type ${shown} allows ${kind}, the document does not`);
  }
  const literals = (atoms: Array<Atom | TsAtom>) =>
    atoms
      .filter((a) => a.kind === 'literal')
      .map((a) => JSON.stringify((a as { value: unknown }).value))
      .sort();
  const docLiterals = literals(want);
  const sdkLiterals = literals(have);
  if (docLiterals.join() !== sdkLiterals.join()) {
    problem(`the document's values are [${docLiterals.join(', ')}], the SDK's [${sdkLiterals.join(', ')}]`);
  }

  for (const kind of ['object', 'array'] as const) {
    const docBranches = want.filter((a) => a.kind === kind) as Array<{ schema: Schema }>;
    const sdkBranches = have.filter((a) => a.kind === kind) as Array<{ type: ts.Type }>;
    if (docBranches.length && !sdkBranches.length)
      problem(`the document allows an ${kind}, ${shown} does not`);
    if (sdkBranches.length && !docBranches.length)
      problem(`${shown} allows an ${kind}, the document does not`);
    if (!docBranches.length || !sdkBranches.length) continue;
    const check = kind === 'object' ? compareObject : compareArray;
    // With several branches (anyOf), each on either side must agree with one of the other side.
    const matrix = docBranches.map((d) =>
      sdkBranches.map((t) => check(doc, checker, d.schema, t.type, where)),
    );
    for (const row of matrix) {
      if (!row.some((p) => p.length === 0)) {
        problems.push(...row.reduce((best, p) => (p.length < best.length ? p : best)));
      }
    }
    sdkBranches.forEach((t, j) => {
      if (!matrix.some((row) => row[j].length === 0) && matrix.every((row) => row.some((p) => !p.length))) {
        problem(`the SDK's ${checker.typeToString(t.type)} matches no branch of the document`);
      }
    });
  }
  return problems;
}

function compareArray(
  doc: OpenApiDocument,
  checker: ts.TypeChecker,
  schema: Schema,
  type: ts.Type,
  where: Where,
): Problem[] {
  const items = (schema.items as Schema | undefined) ?? {};
  const elements = checker.getTypeArguments(type as ts.TypeReference);
  if (!checker.isTupleType(type)) return compare(doc, checker, items, elements[0], child(where, '[]'));
  const problems: Problem[] = [];
  const n = elements.length;
  if (schema.minItems !== n || schema.maxItems !== n) {
    problems.push({
      path: where.decl ?? where.at,
      seenAs: where.at,
      kind: 'type',
      message: `the SDK has a tuple of ${n}, the document ${String(schema.minItems)} to ${String(schema.maxItems)} items`,
    });
  }
  elements.forEach((e, i) => problems.push(...compare(doc, checker, items, e, child(where, `[${i}]`))));
  return problems;
}

function compareObject(
  doc: OpenApiDocument,
  checker: ts.TypeChecker,
  schema: Schema,
  type: ts.Type,
  where: Where,
): Problem[] {
  const problems: Problem[] = [];
  const here = { ...where, decl: typeDeclarationPath(type) ?? where.decl };
  const add = (w: Where, kind: Problem['kind'], message: string) =>
    problems.push({ path: w.decl ?? w.at, seenAs: w.at, kind, message });
  const documented = schema.properties as Record<string, Schema> | undefined;
  const additional = schema.additionalProperties;
  const index = checker.getIndexInfosOfType(type).find((info) => info.keyType.flags & ts.TypeFlags.String);

  if (additional && typeof additional === 'object') {
    if (!index) add(here, 'type', 'the document describes a map, the SDK type has no index signature');
    else problems.push(...compare(doc, checker, additional as Schema, index.type, child(here, '[*]')));
  }
  if (additional === false && index) {
    add(here, 'type', 'the document allows no other fields, the SDK type has an index signature');
  }
  if (!documented) return problems; // a free-form object (or a map, checked above)

  const required = new Set((schema.required as string[] | undefined) ?? []);
  const sdk = new Map(checker.getPropertiesOfType(type).map((p) => [p.name, p]));
  for (const [name, propSchema] of Object.entries(documented)) {
    const prop = sdk.get(name);
    const w = child(here, `.${name}`, prop && declarationPath(prop.valueDeclaration));
    if (!prop) {
      add(w, 'missing-in-sdk', 'documented, but not in the SDK type');
      continue;
    }
    const optional = (prop.flags & ts.SymbolFlags.Optional) !== 0;
    if (required.has(name) && optional) {
      add(w, 'optional-only-in-sdk', 'required by the document, optional in the SDK');
    }
    if (!required.has(name) && !optional) {
      add(w, 'required-only-in-sdk', 'optional in the document, required in the SDK');
    }
    problems.push(...compare(doc, checker, propSchema, checker.getTypeOfSymbol(prop), w));
  }
  for (const [name, prop] of sdk) {
    if (!(name in documented)) {
      add(
        child(here, `.${name}`, declarationPath(prop.valueDeclaration)),
        'not-in-document',
        'in the SDK type, not documented',
      );
    }
  }
  return problems;
}

// --- JSON values against the document (the request bodies the client sends) -------------------------------------

const jsonType = (v: unknown): string =>
  v === null ? 'null' : Array.isArray(v) ? 'array' : Number.isInteger(v) ? 'integer' : typeof v;

/** Why `value` does not match `schema` (the keywords the document uses); empty when it does. */
export function validate(doc: OpenApiDocument, schema: Schema, value: unknown, at = '$'): string[] {
  const s = resolve(doc, schema);
  const branches = (s.anyOf ?? s.oneOf) as Schema[] | undefined;
  if (branches) {
    const results = branches.map((b) => validate(doc, b, value, at));
    return results.some((r) => !r.length) ? [] : results.flat();
  }
  if (Array.isArray(s.enum) && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    return [`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(s.enum)}`];
  }
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
    const t = jsonType(value);
    if (!types.includes(t) && !(t === 'integer' && types.includes('number'))) {
      return [`${at}: a ${t}, the document says ${types.join(' or ')}`];
    }
  }
  const errors: string[] = [];
  if (Array.isArray(value)) {
    if (typeof s.minItems === 'number' && value.length < s.minItems)
      errors.push(`${at}: fewer than ${s.minItems} items`);
    if (typeof s.maxItems === 'number' && value.length > s.maxItems)
      errors.push(`${at}: more than ${s.maxItems} items`);
    if (s.items) value.forEach((v, i) => errors.push(...validate(doc, s.items as Schema, v, `${at}[${i}]`)));
  } else if (value !== null && typeof value === 'object') {
    const object = value as Record<string, unknown>;
    const properties = (s.properties ?? {}) as Record<string, Schema>;
    for (const name of (s.required as string[] | undefined) ?? []) {
      if (!(name in object)) errors.push(`${at}.${name}: required by the document, not sent`);
    }
    for (const [name, v] of Object.entries(object)) {
      if (name in properties) errors.push(...validate(doc, properties[name], v, `${at}.${name}`));
      else if (s.additionalProperties === false || (s.properties && s.additionalProperties === undefined)) {
        errors.push(`${at}.${name}: sent, but not a documented property`);
      } else if (s.additionalProperties && typeof s.additionalProperties === 'object') {
        errors.push(...validate(doc, s.additionalProperties as Schema, v, `${at}.${name}`));
      }
    }
  }
  return errors;
}
