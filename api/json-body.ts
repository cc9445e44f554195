/**
 * The JSON body parser: Fastify's own (its prototype-poisoning checks kept) behind two
 * checks it lacks. Bytes that are not UTF-8 would be decoded into U+FFFD and stored as if
 * the client had sent that; an escaped lone surrogate (`"\ud800"`) is valid JSON but no
 * Unicode text, and PostgreSQL would store U+FFFD in its place. Both are a 400 naming the
 * body or the field, like any bad input; so is JSON that does not parse.
 */
import { isUtf8 } from 'node:buffer';
import type { FastifyInstance } from 'fastify';
import { HttpError } from './errors.js';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const invalidBody = (field: string, message: string, code = 'FST_ERR_VALIDATION'): HttpError =>
  new HttpError(400, `${field === 'body' ? 'body' : `body/${field}`} ${message}`, code, field);

/** The path of the first string or key that holds a lone surrogate. Iterative: a deep body cannot overflow the stack. */
function findLoneSurrogate(root: unknown): string[] | undefined {
  const pending: { value: unknown; path: string[] }[] = [{ value: root, path: [] }];
  while (pending.length > 0) {
    const { value, path } = pending.pop()!;
    if (typeof value === 'string') {
      if (LONE_SURROGATE.test(value)) return path;
    } else if (value && typeof value === 'object') {
      for (const [key, child] of Object.entries(value)) {
        if (LONE_SURROGATE.test(key)) return [...path, key];
        pending.push({ value: child, path: [...path, key] });
      }
    }
  }
  return undefined;
}

export function useStrictJsonBodies(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body: Buffer, done) => {
    if (!isUtf8(body)) return done(invalidBody('body', 'is not valid UTF-8', 'FST_ERR_CTP_INVALID_JSON_BODY'), undefined);
    // Fastify's parser is synchronous: it answers through the callback and returns nothing.
    void parseJson(request, body.toString('utf8'), (err, value) => {
      if (err) {
        const empty = (err as { code?: string }).code === 'FST_ERR_CTP_EMPTY_JSON_BODY';
        return done(invalidBody('body', empty ? 'is empty, but content-type is application/json' : 'is not valid JSON', (err as { code?: string }).code), undefined);
      }
      const path = findLoneSurrogate(value);
      if (path) return done(invalidBody(path.length > 0 ? path.join('/') : 'body', 'holds a lone UTF-16 surrogate: not Unicode text'), undefined);
      done(null, value);
    });
  });
}
