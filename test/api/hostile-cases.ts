/**
 * Hostile requests generated from one OpenAPI operation (for hostile-input.test.ts). Every
 * case is derived from the operation's parameters and body schema alone, so a route is
 * covered the day it is added; each says which answer it must get. Values that the schema
 * itself accepts are not hostile and are not sent (a 1e308 `type` filter is a valid query).
 */
import { randomUUID } from 'node:crypto';
import { bodyCases, json, methodTakesBody, rawBodyCases, sample, stringAccepts, type BodyCase, type JsonSchema } from './hostile-values.js';

export type { JsonSchema } from './hostile-values.js';

export interface Parameter {
  in: 'path' | 'query' | 'header' | 'cookie';
  name: string;
  required?: boolean;
  schema: JsonSchema;
}

export interface Operation {
  method: string;
  /** OpenAPI form: `/v1/threads/{threadId}`. */
  path: string;
  parameters: Parameter[];
  body?: JsonSchema;
  /** Documented response codes: `200`, `4XX`, ... */
  responses: string[];
}

/** One user's things, by the parameter or property name that carries their id. */
export type Ids = Record<string, string>;

export interface Expectation {
  /** Statuses that may answer: one, but for a body past the limit (the app's 413, or a route's own bound). */
  statuses: number[];
  /** What a 400 must name (`field`, or the message). */
  field?: string;
  code?: string;
}

export interface HostileCase {
  label: string;
  /** `owner`: the user whose ids the request carries; `intruder`: the other one. */
  sender: 'owner' | 'intruder' | 'anonymous';
  /** Path parameter values, percent-encoded already. */
  path: Record<string, string>;
  query?: string;
  headers?: Record<string, string>;
  body?: { payload: string | Buffer; contentType: string };
  expect: Expectation;
}

export interface CaseContext {
  owner: Ids;
  intruder: Ids;
  bodyLimit: number;
  /** Whether an intruder's 404 applies: not on admin routes, which answer 403 to other keys. */
  foreignIds: boolean;
}

const badRequest = (field: string): Expectation => ({ statuses: [400], field });
const params = (op: Operation, where: Parameter['in']) => op.parameters.filter((p) => p.in === where);

/** Whether a parameter or property names a row of its user (a thread, a case, a document...): `*Id`, or a UUID. */
const namesARow = (name: string, schema: JsonSchema) => schema.format === 'uuid' || /Id$/.test(name);
/** A body property that lists rows of its user (`messageIds`): an array of ids. */
const listsRows = (name: string, schema: JsonSchema) => schema.type === 'array' && schema.items !== undefined && (/Ids$/.test(name) || schema.items.format === 'uuid');

/**
 * Every id an operation takes, in its path or its body: each must be a real row of each user
 * (`idOf`), or "another user's id" would be a random UUID, 404 whether or not the route checks
 * its owner.
 */
export function idNames(op: Operation): string[] {
  const inPath = params(op, 'path').filter((p) => namesARow(p.name, p.schema)).map((p) => p.name);
  const inBody = Object.entries(op.body?.properties ?? {}).filter(([name, schema]) => namesARow(name, schema) || listsRows(name, schema)).map(([name]) => name);
  return [...new Set([...inPath, ...inBody])];
}

function idOf(ids: Ids, name: string): string {
  const id = ids[name];
  if (id === undefined) throw new Error(`no ${name} of this user: seed one (hostile-input.test.ts idsOf), so another user's ${name} is a real row`);
  return id;
}

const queryPair = (name: string, value: string) => `${name}=${encodeURIComponent(value)}`;

/** The required query parameters with valid values, but `except`: a case varies one and keeps the rest valid. */
function requiredQuery(op: Operation, ids: Ids, except?: string): string[] {
  return params(op, 'query')
    .filter((p) => p.required && p.name !== except)
    .map((p) => {
      const value = String(sample(p.schema, p.name, ids));
      if (!stringAccepts(p.schema, value)) throw new Error(`the sample of the required query parameter ${p.name} (${JSON.stringify(value)}) is not valid: teach sample() its form`);
      return queryPair(p.name, value);
    });
}

/** The request every case starts from: the sender's own ids, the required query, a body the schema accepts. */
function baseOf(op: Operation, ids: Ids): Pick<HostileCase, 'path' | 'query' | 'body'> {
  const path: Record<string, string> = {};
  for (const p of params(op, 'path')) {
    path[p.name] = encodeURIComponent(String(namesARow(p.name, p.schema) ? idOf(ids, p.name) : (ids[p.name] ?? sample(p.schema, p.name, ids))));
  }
  const query = requiredQuery(op, ids).join('&');
  const body = op.body ? json(sample(op.body, 'body', ids)) : undefined;
  return { path, ...(query ? { query } : {}), ...(body ? { body } : {}) };
}

function authCases(op: Operation, ctx: CaseContext): HostileCase[] {
  const base = baseOf(op, ctx.owner);
  return [
    { label: 'no API key', sender: 'anonymous', ...base, expect: { statuses: [401] } },
    { label: 'an unknown API key', sender: 'anonymous', ...base, headers: { authorization: 'Bearer cw_unknown' }, expect: { statuses: [401] } },
  ];
}

/** The owner's ids sent by the intruder: in all id parameters at once, then one at a time (the rest the intruder's own). */
function foreignIdCases(op: Operation, ctx: CaseContext): HostileCase[] {
  if (!ctx.foreignIds) return [];
  const owned = params(op, 'path').filter((p) => p.schema.format === 'uuid' || (ctx.owner[p.name] && ctx.owner[p.name] !== ctx.intruder[p.name]));
  const own = baseOf(op, ctx.intruder);
  const theirs = baseOf(op, ctx.owner);
  const cases: HostileCase[] = [];
  const variants = owned.length > 1 ? [owned, ...owned.map((p) => [p])] : owned.length === 1 ? [owned] : [];
  const query = own.query ? { query: own.query } : {};
  for (const taken of variants) {
    const path = { ...own.path };
    for (const p of taken) path[p.name] = theirs.path[p.name]!;
    cases.push({ label: `another user's ${taken.map((p) => p.name).join(' and ')}`, sender: 'intruder', path, ...query, ...(own.body ? { body: own.body } : {}), expect: { statuses: [404] } });
  }
  for (const [name, schema] of Object.entries(op.body?.properties ?? {})) {
    const list = listsRows(name, schema);
    if (!namesARow(name, schema) && !list) continue;
    const theirs = idOf(ctx.owner, name);
    const body = { ...(sample(op.body!, 'body', ctx.intruder) as object), [name]: list ? [theirs] : theirs };
    cases.push({ label: `another user's ${name} in the body`, sender: 'intruder', path: own.path, ...query, body: json(body), expect: { statuses: [404] } });
  }
  return cases;
}

function pathCases(op: Operation, ctx: CaseContext): HostileCase[] {
  const base = baseOf(op, ctx.owner);
  const cases: HostileCase[] = [];
  for (const p of params(op, 'path')) {
    const at = (label: string, value: string, expect: Expectation): HostileCase => ({ label: `${p.name} ${label}`, sender: 'owner', ...base, path: { ...base.path, [p.name]: value }, expect });
    cases.push(at('with a NUL', 'a%00b', badRequest(p.name)));
    // The router refuses a segment that is not UTF-8 before any route (or its parameter names) is known.
    cases.push(at('not UTF-8', '%FF', { statuses: [400], code: 'FST_ERR_BAD_URL' }));
    if (p.schema.format !== 'uuid') continue;
    const id = randomUUID();
    for (const notUuid of ['not-a-uuid', '12345', `${id}0`, id.replace(/-/g, ''), `urn:uuid:${id}`]) {
      cases.push(at(`not a UUID (${notUuid.slice(0, 16)})`, encodeURIComponent(notUuid), badRequest(p.name)));
    }
  }
  return cases;
}

/**
 * Query values are strings: each candidate is sent only where the parameter's schema refuses
 * it, with the other required parameters valid, so the answer can only be about this one.
 */
function queryCases(op: Operation, ctx: CaseContext): HostileCase[] {
  const query = params(op, 'query');
  if (query.length === 0) return [];
  const base = baseOf(op, ctx.owner);
  const varying = (p: string | undefined) => (label: string, raw: string | undefined, expect: Expectation): HostileCase => {
    const parts = [...requiredQuery(op, ctx.owner, p), ...(raw === undefined ? [] : [raw])];
    return { label, sender: 'owner', ...base, query: parts.length > 0 ? parts.join('&') : undefined, expect };
  };
  const cases = [varying(undefined)('an unknown query parameter', 'hostileExtra=1', badRequest('hostileExtra'))];
  for (const p of query) {
    const at = varying(p.name);
    if (p.required) cases.push(at(`${p.name} missing`, undefined, badRequest(p.name)));
    const once = queryPair(p.name, String(sample(p.schema, p.name, ctx.owner)));
    cases.push(at(`${p.name} given twice (an array)`, `${once}&${once}`, badRequest(p.name)));
    const overLong = 'a'.repeat((p.schema.maxLength ?? 1024 * 1024) + 1);
    const candidates: [string, string, string][] = [
      ['over-long', overLong, encodeURIComponent(overLong)],
      ['with a NUL', 'a\u0000b', 'a%00b'],
      ['not a UUID', 'not-a-uuid', 'not-a-uuid'],
      ['not one of its values', 'not-one-of-them', 'not-one-of-them'],
      ['1e308', '1e308', '1e308'],
      ['2**64', String(2 ** 64), String(2 ** 64)],
      ['-1', '-1', '-1'],
      // Not valid percent-encoded UTF-8: the parser keeps the text as sent.
      ['not UTF-8', '%FF', '%FF'],
    ];
    for (const [label, decoded, raw] of candidates) {
      if (!stringAccepts(p.schema, decoded)) cases.push(at(`${p.name} ${label}`, `${p.name}=${raw}`, badRequest(p.name)));
    }
  }
  return cases;
}

function headerCases(op: Operation, ctx: CaseContext): HostileCase[] {
  const base = baseOf(op, ctx.owner);
  return params(op, 'header')
    .filter((p) => p.schema.maxLength !== undefined)
    .map((p) => ({ label: `${p.name} over-long`, sender: 'owner', ...base, headers: { [p.name]: 'a'.repeat(p.schema.maxLength! + 1) }, expect: badRequest(p.name) }));
}

export function hostileCases(op: Operation, ctx: CaseContext): HostileCase[] {
  const base = baseOf(op, ctx.owner);
  const owned = (c: BodyCase): HostileCase => ({ sender: 'owner', path: base.path, ...c });
  const bodies = op.body ? bodyCases(op.body, sample(op.body, 'body', ctx.owner) as Record<string, unknown>, ctx.bodyLimit) : [];
  const raw = methodTakesBody(op.method) ? rawBodyCases(op.body) : [];
  return [
    ...authCases(op, ctx),
    ...foreignIdCases(op, ctx),
    ...pathCases(op, ctx),
    ...queryCases(op, ctx),
    ...headerCases(op, ctx),
    ...[...bodies, ...raw].map(owned),
  ];
}
