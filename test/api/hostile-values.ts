/**
 * Values for the generated hostile-input test: a valid sample of a JSON schema, whether a
 * query string value passes a string schema, and the hostile bodies of an operation. Each
 * hostile value is invalid by construction (a wrong JSON type, past a bound, a NUL), so the
 * answer it must get follows from the schema; a numeric or string field with no bound is a
 * failure of the test, not a skipped case: bound it.
 */
import { randomUUID } from 'node:crypto';

export interface JsonSchema {
  type?: string | string[];
  format?: string;
  enum?: unknown[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  anyOf?: JsonSchema[];
  items?: JsonSchema;
}

export interface BodyCase {
  label: string;
  body: { payload: string | Buffer; contentType: string };
  headers?: Record<string, string>;
  expect: { statuses: number[]; field?: string; code?: string };
}

/** The form PostgreSQL's uuid type takes (ajv's `uuid` format also takes `urn:uuid:`). */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MIB = 1024 * 1024;

export const json = (value: unknown) => ({ payload: JSON.stringify(value), contentType: 'application/json' });
export const methodTakesBody = (method: string): boolean => ['POST', 'PUT', 'PATCH'].includes(method);

/** The JSON types a schema allows; undefined: any. */
function typesOf(schema: JsonSchema): Set<string> | undefined {
  if (schema.anyOf) {
    const branches = schema.anyOf.map(typesOf);
    return branches.some((b) => b === undefined) ? undefined : new Set(branches.flatMap((b) => [...b!]));
  }
  if (schema.type === undefined) return undefined;
  const types = new Set(Array.isArray(schema.type) ? schema.type : [schema.type]);
  if (types.has('integer')) types.add('number');
  return types;
}

/** A value the schema accepts, using the sender's ids for id-named fields. */
export function sample(schema: JsonSchema, name: string, ids: Record<string, string>): unknown {
  if (schema.anyOf) return sample(schema.anyOf[0]!, name, ids);
  if (schema.enum) return schema.enum[0];
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'object': {
      const value: Record<string, unknown> = {};
      for (const key of schema.required ?? []) value[key] = sample(schema.properties?.[key] ?? {}, key, ids);
      return value;
    }
    case 'array': return [];
    case 'integer':
    case 'number': return schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : 1);
    case 'boolean': return true;
    case 'null': return null;
    default:
      if (ids[name]) return ids[name];
      if (schema.format === 'uuid') return randomUUID();
      return 'x'.repeat(Math.max(1, schema.minLength ?? 1));
  }
}

/** Whether a query value passes a string schema (the NUL guard refuses any NUL). */
export function stringAccepts(schema: JsonSchema, value: string): boolean {
  if (value.includes('\u0000')) return false;
  if (schema.enum && !schema.enum.includes(value)) return false;
  if (schema.maxLength !== undefined && value.length > schema.maxLength) return false;
  if (schema.minLength !== undefined && value.length < schema.minLength) return false;
  if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value)) return false;
  if (schema.format === 'uuid' && !UUID.test(value)) return false;
  return true;
}

/** A value of every JSON type the schema does not allow: `[]` for an object, `{}` for a string, ... */
function wrongTypes(schema: JsonSchema): [string, unknown][] {
  const allowed = typesOf(schema);
  if (!allowed) return [];
  const candidates: [string, unknown][] = [['number', 12345], ['string', 'text'], ['boolean', true], ['object', {}], ['array', [{}]], ['null', null]];
  return candidates.filter(([type]) => !allowed.has(type));
}

/** A number outside the schema's bounds; a bound that is missing counts as crossed. */
function outOfBounds(schema: JsonSchema, value: number): boolean {
  const max = schema.maximum ?? schema.exclusiveMaximum;
  const min = schema.minimum ?? schema.exclusiveMinimum;
  return max === undefined || min === undefined || value > max || value < min;
}

/** A string one past its bound, or 1 MiB past the body limit if it has none. */
function overLongCase(name: string, schema: JsonSchema, base: Record<string, unknown>, bodyLimit: number): BodyCase {
  const body = json({ ...base, [name]: 'a'.repeat((schema.maxLength ?? Math.max(MIB, bodyLimit)) + 1) });
  const pastLimit = Buffer.byteLength(body.payload) > bodyLimit;
  // Past the app's body limit: its 413, or the field's bound on a route with a larger limit of its own.
  return { label: `${name} over-long`, body, expect: { statuses: pastLimit ? [413, 400] : [400], field: name } };
}

function propertyCases(name: string, schema: JsonSchema, base: Record<string, unknown>, bodyLimit: number): BodyCase[] {
  const cases: BodyCase[] = [];
  const withValue = (label: string, value: unknown): BodyCase => ({ label: `${name} ${label}`, body: json({ ...base, [name]: value }), expect: { statuses: [400], field: name } });
  for (const [type, value] of wrongTypes(schema)) cases.push(withValue(`as ${type}`, value));
  const types = typesOf(schema);
  if (!types || types.has('string')) {
    cases.push(overLongCase(name, schema, base, bodyLimit));
    cases.push(withValue('with a NUL', 'a\u0000b'));
    // JSON.stringify writes a lone surrogate as the escape `\ud800`: valid JSON, no Unicode text.
    cases.push(withValue('a lone surrogate', '\ud800'));
  }
  if (!types || types.has('number')) {
    for (const huge of [1e308, 2 ** 64, -1]) if (outOfBounds(schema, huge)) cases.push(withValue(`= ${huge}`, huge));
  }
  return cases;
}

/** Hostile bodies built from the body schema and a valid sample of it. */
export function bodyCases(schema: JsonSchema, base: Record<string, unknown>, bodyLimit: number): BodyCase[] {
  const body = (label: string, payload: unknown, field: string): BodyCase => ({ label, body: json(payload), expect: { statuses: [400], field } });
  const cases = Object.entries(schema.properties ?? {}).flatMap(([name, property]) => propertyCases(name, property, base, bodyLimit));
  cases.push(body('an unknown field', { ...base, hostileExtra: 1 }, 'hostileExtra'));
  cases.push(body('a NUL in a key', { ...base, 'hostile\u0000key': 1 }, 'hostile\u0000key'));
  cases.push(body('an array for the object', [base], 'body'));
  cases.push(body('null for the object', null, 'body'));
  cases.push(body('a string for the object', 'text', 'body'));
  return cases;
}

/**
 * Bodies no schema is needed to refuse: they fail in the parser, on every method that takes
 * a body. The oversized one is announced (1 GiB in Content-Length), so it is refused before
 * it is read whatever the route's own limit; real bytes past the app's limit are sent by the
 * over-long field cases.
 */
export function rawBodyCases(schema: JsonSchema | undefined): BodyCase[] {
  const field = Object.keys(schema?.properties ?? {})[0] ?? 'x';
  const jsonType = 'application/json';
  const raw = (label: string, payload: string | Buffer, expect: BodyCase['expect'], headers?: Record<string, string>, contentType = jsonType): BodyCase =>
    ({ label, body: { payload, contentType }, ...(headers ? { headers } : {}), expect });
  return [
    raw('invalid JSON', '{"x": ', { statuses: [400], field: 'body' }),
    raw('an empty JSON body', '', { statuses: [400], field: 'body' }),
    raw('invalid UTF-8', Buffer.concat([Buffer.from(`{"${field}":"`), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]), { statuses: [400], field: 'body' }),
    raw('text/plain', 'hello', { statuses: [415] }, undefined, 'text/plain'),
    raw('a 1 GiB body announced', '{}', { statuses: [413] }, { 'content-length': String(2 ** 30) }),
    raw('a Content-Length the body does not match', '{"x":1}', { statuses: [400], field: 'Content-Length', code: 'FST_ERR_CTP_INVALID_CONTENT_LENGTH' }, { 'content-length': '3' }),
  ];
}
