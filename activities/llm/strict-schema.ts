/**
 * What OpenAI's strict mode (Structured Outputs, `strict: true`) accepts of JSON Schema. The
 * subset, as the "Supported schemas" section of OpenAI's Structured Outputs guide documents it
 * (https://platform.openai.com/docs/guides/structured-outputs#supported-schemas, the version of
 * 14 Oct 2025, read 2026-12 through a verbatim copy since the site is not reachable from here):
 * - types string, number, boolean, integer, object, array, enum, anyOf; `$defs` and `$ref`;
 * - strings: `pattern`, `format` (date-time, time, date, duration, email, hostname, ipv4, ipv6,
 *   uuid); numbers: `multipleOf`, `maximum`, `exclusiveMaximum`, `minimum`, `exclusiveMinimum`;
 *   arrays: `minItems`, `maxItems`. Nothing else: `minLength`/`maxLength` are not listed (and
 *   fine-tuned models refuse even the listed bounds);
 * - every object lists all its properties in `required` and sets `additionalProperties: false`;
 *   the root is an object, not `anyOf`; `allOf`, `not`, `if`/`then`/`else`, `dependentRequired`
 *   and `dependentSchemas` are refused;
 * - at most 5000 object properties and 10 levels of nesting; at most 1000 enum values; at most
 *   120,000 characters of property names, definition names, enum and const values; a string
 *   enum of more than 250 values at most 15,000 characters.
 * A keyword not documented as supported counts as refused: a request with `strict: true` and
 * such a schema is a 400.
 */

type JsonSchemaNode = Record<string, unknown>;

export interface StrictViolation {
  /** Where, as a JSON pointer into the schema ('' is the root). */
  path: string;
  problem: string;
}

const ANNOTATIONS = ['description'];
const STRUCTURE = ['type', 'properties', 'required', 'additionalProperties', 'items', 'enum', 'const', 'anyOf', '$ref', '$defs', 'definitions'];
const TYPE_BOUNDS = ['pattern', 'format', 'multipleOf', 'maximum', 'exclusiveMaximum', 'minimum', 'exclusiveMinimum', 'minItems', 'maxItems'];
const SUPPORTED = new Set([...ANNOTATIONS, ...STRUCTURE, ...TYPE_BOUNDS]);
const FORMATS = new Set(['date-time', 'time', 'date', 'duration', 'email', 'hostname', 'ipv4', 'ipv6', 'uuid']);

/**
 * Bounds outside the subset that only narrow which values are valid, never the shape: they are
 * dropped from the schema a model is sent and stay in the zod validation after the call.
 */
const NARROWING_ONLY = ['minLength', 'maxLength', 'minProperties', 'maxProperties', 'uniqueItems'];

export const STRICT_LIMITS = {
  objectProperties: 5000,
  nestingLevels: 10,
  enumValues: 1000,
  stringChars: 120_000,
  largeEnumValues: 250,
  largeEnumChars: 15_000,
} as const;

interface Tally {
  properties: number;
  enumValues: number;
  stringChars: number;
}

/** Everything strict mode would refuse in `schema`; empty when it may be sent `strict: true`. */
export function strictModeViolations(schema: JsonSchemaNode): StrictViolation[] {
  const found: StrictViolation[] = [];
  const tally: Tally = { properties: 0, enumValues: 0, stringChars: 0 };
  if (schema.type !== 'object' || 'anyOf' in schema) found.push({ path: '', problem: 'the root must be an object, not anyOf' });
  walk(schema, '', 0, found, tally);
  if (tally.properties > STRICT_LIMITS.objectProperties) found.push({ path: '', problem: `${tally.properties} object properties (at most ${STRICT_LIMITS.objectProperties})` });
  if (tally.enumValues > STRICT_LIMITS.enumValues) found.push({ path: '', problem: `${tally.enumValues} enum values (at most ${STRICT_LIMITS.enumValues})` });
  if (tally.stringChars > STRICT_LIMITS.stringChars) found.push({ path: '', problem: `${tally.stringChars} characters of names and values (at most ${STRICT_LIMITS.stringChars})` });
  return found;
}

function walk(node: JsonSchemaNode, path: string, level: number, found: StrictViolation[], tally: Tally): void {
  for (const keyword of Object.keys(node)) {
    if (!SUPPORTED.has(keyword)) found.push({ path, problem: `'${keyword}' is not supported` });
  }
  if (typeof node.format === 'string' && !FORMATS.has(node.format)) found.push({ path, problem: `format '${node.format}' is not supported` });
  const isObject = node.type === 'object' || (Array.isArray(node.type) && node.type.includes('object')) || 'properties' in node;
  const depth = isObject ? level + 1 : level;
  if (isObject) checkObject(node, path, depth, found, tally);
  if (Array.isArray(node.enum)) checkEnum(node.enum, path, found, tally);
  if (typeof node.const === 'string') tally.stringChars += node.const.length;
  for (const [childPath, child] of children(node, path)) walk(child, childPath, depth, found, tally);
  for (const [name, childPath, child] of definitions(node, path)) {
    tally.stringChars += name.length;
    // Where a definition is used is not known here: count its own levels only.
    walk(child, childPath, 0, found, tally);
  }
}

function checkObject(node: JsonSchemaNode, path: string, depth: number, found: StrictViolation[], tally: Tally): void {
  const keys = Object.keys(isNode(node.properties) ? node.properties : {});
  const required = new Set(Array.isArray(node.required) ? node.required : []);
  tally.properties += keys.length;
  tally.stringChars += keys.reduce((n, k) => n + k.length, 0);
  if (node.additionalProperties !== false) found.push({ path, problem: 'additionalProperties must be false' });
  const optional = keys.filter((k) => !required.has(k));
  if (optional.length > 0) found.push({ path, problem: `required must list every property (missing: ${optional.join(', ')})` });
  if (depth > STRICT_LIMITS.nestingLevels) found.push({ path, problem: `nested ${depth} objects deep (at most ${STRICT_LIMITS.nestingLevels})` });
}

function checkEnum(values: unknown[], path: string, found: StrictViolation[], tally: Tally): void {
  const chars = values.reduce<number>((n, v) => n + (typeof v === 'string' ? v.length : 0), 0);
  tally.enumValues += values.length;
  tally.stringChars += chars;
  if (values.length > STRICT_LIMITS.largeEnumValues && chars > STRICT_LIMITS.largeEnumChars) {
    found.push({ path, problem: `an enum of ${values.length} values and ${chars} characters (at most ${STRICT_LIMITS.largeEnumChars} past ${STRICT_LIMITS.largeEnumValues} values)` });
  }
}

/** Subschemas in the instance's shape: properties, items, anyOf branches. */
function children(node: JsonSchemaNode, path: string): [string, JsonSchemaNode][] {
  const out: [string, JsonSchemaNode][] = [];
  if (isNode(node.properties)) {
    for (const [key, child] of Object.entries(node.properties)) if (isNode(child)) out.push([`${path}/properties/${key}`, child]);
  }
  if (isNode(node.items)) out.push([`${path}/items`, node.items]);
  if (Array.isArray(node.anyOf)) node.anyOf.forEach((child, i) => isNode(child) && out.push([`${path}/anyOf/${i}`, child]));
  return out;
}

function definitions(node: JsonSchemaNode, path: string): [string, string, JsonSchemaNode][] {
  const out: [string, string, JsonSchemaNode][] = [];
  for (const keyword of ['$defs', 'definitions']) {
    const map = node[keyword];
    if (!isNode(map)) continue;
    for (const [name, child] of Object.entries(map)) if (isNode(child)) out.push([name, `${path}/${keyword}/${name}`, child]);
  }
  return out;
}

/**
 * The schema without the narrowing-only bounds strict mode refuses (a copy). A dropped length
 * bound is said in the description instead, so the model still knows it; the caller's zod
 * schema enforces it after the call.
 */
export function withoutUnsupportedBounds(node: JsonSchemaNode): JsonSchemaNode {
  const out: JsonSchemaNode = {};
  for (const [key, value] of Object.entries(node)) {
    if (NARROWING_ONLY.includes(key)) continue;
    out[key] = mapSubschemas(key, value);
  }
  const hint = lengthHint(node);
  if (hint) out.description = typeof node.description === 'string' ? `${node.description} (${hint})` : hint;
  return out;
}

function mapSubschemas(key: string, value: unknown): unknown {
  if (key === 'properties' || key === '$defs' || key === 'definitions') {
    return isNode(value) ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, isNode(v) ? withoutUnsupportedBounds(v) : v])) : value;
  }
  if (key === 'items' && isNode(value)) return withoutUnsupportedBounds(value);
  if (key === 'anyOf' && Array.isArray(value)) return value.map((v) => (isNode(v) ? withoutUnsupportedBounds(v) : v));
  return value;
}

function lengthHint(node: JsonSchemaNode): string | null {
  const min = typeof node.minLength === 'number' && node.minLength > 0 ? node.minLength : null;
  const max = typeof node.maxLength === 'number' ? node.maxLength : null;
  if (min !== null && max !== null) return `${min} to ${max} characters`;
  if (max !== null) return `at most ${max} characters`;
  if (min === 1) return 'not empty';
  return min !== null ? `at least ${min} characters` : null;
}

function isNode(value: unknown): value is JsonSchemaNode {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
