// The published JSON Schema, compiled once, and the translation of its violations into positioned
// diagnostics. The schema file is the single description of the document shape: editors validate
// against it, the loader validates against it, and the reference documentation is generated from it.
import Ajv, { ErrorObject } from 'ajv';
import policySchema from '../../schema/policy.schema.json';

export { policySchema };

export type PathSegment = string | number;

export interface SchemaViolation {
  readonly code: 'SCHEMA_REQUIRED' | 'SCHEMA_UNKNOWN_FIELD' | 'SCHEMA_TYPE' | 'SCHEMA_VALUE';
  /** Path of the offending field (for a missing field: where it should be). */
  readonly path: PathSegment[];
  /** Whether the position is best given by the field's key rather than its value. */
  readonly atKey: boolean;
  /** For a missing field, the position is that of the object that lacks it. */
  readonly locatePath: PathSegment[];
  readonly detail: string;
  readonly expected: string;
}

let validator: ReturnType<Ajv['compile']> | undefined;

function validate(document: unknown): ErrorObject[] {
  if (!validator) {
    // Union types (`integer | string` for ports, `string | object` for quotas) are deliberate.
    const ajv = new Ajv({ allErrors: true, verbose: true, allowUnionTypes: true, strictTypes: false });
    validator = ajv.compile(policySchema);
  }
  return validator(document) ? [] : [...(validator.errors ?? [])];
}

function pointerToPath(pointer: string): PathSegment[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((part) => (/^(0|[1-9][0-9]*)$/.test(part) ? Number(part) : part));
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(
        row[j] + 1,
        row[j - 1] + 1,
        diagonal + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1),
      );
      diagonal = above;
    }
  }
  return row[b.length];
}

const describeType = (type: unknown): string =>
  (Array.isArray(type) ? type : [type])
    .map((t) => (t === 'integer' ? 'a whole number' : `a ${t}`))
    .join(' or ');

const actualType = (value: unknown): string =>
  value === null
    ? 'null'
    : Array.isArray(value)
      ? 'a list'
      : typeof value === 'object'
        ? 'a mapping'
        : `a ${typeof value}`;

function examplesOf(schema: unknown): string {
  const examples = (schema as { examples?: unknown[] } | undefined)?.examples;
  return examples && examples.length > 0 ? examples.map((e) => JSON.stringify(e)).join(' or ') : '';
}

function translate(error: ErrorObject): SchemaViolation {
  const path = pointerToPath(error.instancePath);
  const parent = error.parentSchema as Record<string, unknown> | undefined;
  switch (error.keyword) {
    case 'required': {
      const missing = (error.params as { missingProperty: string }).missingProperty;
      return {
        code: 'SCHEMA_REQUIRED',
        path: [...path, missing],
        atKey: false,
        locatePath: path,
        detail: `missing required field "${missing}"`,
        expected: `a "${missing}" field`,
      };
    }
    case 'additionalProperties': {
      const extra = (error.params as { additionalProperty: string }).additionalProperty;
      const known = Object.keys((parent?.properties as object | undefined) ?? {});
      const close = known.filter((name) => editDistance(name, extra) <= 2);
      const hint = close.length > 0 ? ` (did you mean "${close[0]}"?)` : '';
      return {
        code: 'SCHEMA_UNKNOWN_FIELD',
        path: [...path, extra],
        atKey: true,
        locatePath: [...path, extra],
        detail: `unknown field "${extra}"${hint}`,
        expected: `one of ${known.map((k) => `"${k}"`).join(', ')}`,
      };
    }
    case 'type':
      return {
        code: 'SCHEMA_TYPE',
        path,
        atKey: false,
        locatePath: path,
        detail: `got ${actualType(error.data)}`,
        expected: describeType((error.params as { type: unknown }).type),
      };
    case 'enum':
    case 'const': {
      const params = error.params as { allowedValues?: unknown[]; allowedValue?: unknown };
      const allowed = params.allowedValues ?? [params.allowedValue];
      return {
        code: 'SCHEMA_VALUE',
        path,
        atKey: false,
        locatePath: path,
        detail: `${JSON.stringify(error.data)} is not allowed here`,
        expected: `one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`,
      };
    }
    case 'pattern': {
      const examples = examplesOf(parent);
      return {
        code: 'SCHEMA_VALUE',
        path,
        atKey: false,
        locatePath: path,
        detail: `${JSON.stringify(error.data)} is not in the expected form`,
        expected: examples ? `a value like ${examples}` : `a string matching ${String(error.schema)}`,
      };
    }
    case 'minimum':
    case 'maximum':
      return {
        code: 'SCHEMA_VALUE',
        path,
        atKey: false,
        locatePath: path,
        detail: `${JSON.stringify(error.data)} is out of range`,
        expected: `a number ${error.keyword === 'minimum' ? '>=' : '<='} ${String(error.schema)}`,
      };
    default:
      return {
        code: 'SCHEMA_VALUE',
        path,
        atKey: false,
        locatePath: path,
        detail: error.message ?? 'invalid value',
        expected: examplesOf(parent) || 'a value the schema allows',
      };
  }
}

/** Every schema violation of one document, one per field. */
export function schemaViolations(document: unknown): SchemaViolation[] {
  const seen = new Set<string>();
  const out: SchemaViolation[] = [];
  for (const error of validate(document)) {
    const violation = translate(error);
    // A value can fail several keywords at once (a union type, then a pattern): one report per field.
    const key = `${violation.code === 'SCHEMA_REQUIRED' ? 'r:' : ''}${JSON.stringify(violation.path)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(violation);
  }
  return out;
}

export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path)
    out += typeof segment === 'number' ? `[${segment}]` : out ? `.${segment}` : segment;
  return out;
}
