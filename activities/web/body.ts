/**
 * What a response may carry and how much of it we read (reliability A2, S4, S5).
 * `Content-Length` is the *encoded* size, so it cannot bound a compressed body: the cap counts
 * decoded bytes while they stream and hangs up at the cap, so a gzip bomb costs a few MiB of
 * memory, never its decoded size. Encoded bytes are capped too (a stream of empty gzip members
 * decodes to nothing, forever). Chains of more than 5 encodings are refused, as undici does.
 */
import { pipeline, Transform, type Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { fetchFailure } from './errors.js';

export const MAX_CONTENT_ENCODINGS = 5;

export interface MediaType {
  contentType: string;
  /** The charset the header names, as TextDecoder calls it (`iso-8859-1` is `windows-1252`). */
  charset?: string;
}

const MEDIA_TYPE = /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/;

/** The canonical name of a charset label TextDecoder reads, or undefined. */
export function charsetName(label: string): string | undefined {
  try {
    return new TextDecoder(label.trim()).encoding;
  } catch {
    return undefined;
  }
}

/** The response's media type, if it is one we read (and its charset, if we can decode it). */
export function acceptMediaType(header: string | undefined, allowed: readonly string[]): MediaType {
  if (!header?.trim()) throw fetchFailure('ContentTypeNotAllowed', 'the response has no content type: refused');
  const [essence = '', ...params] = header.split(';');
  const contentType = essence.trim().toLowerCase();
  if (!MEDIA_TYPE.test(contentType)) {
    throw fetchFailure('ContentTypeNotAllowed', `the content type "${essence.trim().slice(0, 100)}" is not a media type: refused`);
  }
  if (!allowed.includes(contentType)) {
    throw fetchFailure('ContentTypeNotAllowed', `the content type ${contentType} is not allowed (allowed: ${allowed.join(', ')})`);
  }
  const param = params.map((p) => p.trim()).find((p) => p.toLowerCase().startsWith('charset='));
  if (param === undefined) return { contentType };
  const label = param.slice('charset='.length).replace(/^"(.*)"$/, '$1');
  const charset = charsetName(label);
  if (!charset) throw fetchFailure('ContentTypeNotAllowed', `the charset "${label.slice(0, 100)}" is not supported`);
  return { contentType, charset };
}

/**
 * The charset of a text body the header did not name: a byte order mark, else (for HTML) a
 * `<meta charset>` in the first 1024 bytes, else UTF-8.
 */
export function sniffCharset(body: Buffer, contentType: string): string {
  if (body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf) return 'utf-8';
  if (body[0] === 0xff && body[1] === 0xfe) return 'utf-16le';
  if (body[0] === 0xfe && body[1] === 0xff) return 'utf-16be';
  if (contentType === 'text/html' || contentType === 'application/xhtml+xml') {
    const head = body.subarray(0, 1024).toString('latin1');
    const meta = /<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_:.-]+)/i.exec(head);
    const named = meta?.[1] ? charsetName(meta[1]) : undefined;
    if (named) return named;
  }
  return 'utf-8';
}

/** windows-1252's 0x80-0x9F; the five bytes it leaves undefined map to themselves (WHATWG Encoding). */
const CP1252_HIGH = '€\x81‚ƒ„…†‡ˆ‰Š‹Œ\x8dŽ\x8f\x90‘’“”•–—˜™š›œ\x9džŸ';

/**
 * The body as text, in its charset (bytes it cannot decode become U+FFFD, as a browser shows
 * them). Node 20's TextDecoder names `iso-8859-1` and `windows-1252` right but decodes both as
 * Latin-1, so 0x93 became U+0093 instead of “: windows-1252 is decoded here.
 */
export function decodeText(body: Buffer, charset = 'utf-8'): string {
  if (charset !== 'windows-1252') return new TextDecoder(charset).decode(body);
  return body.toString('latin1').replace(/[\x80-\x9f]/g, (c) => CP1252_HIGH[c.charCodeAt(0) - 0x80] ?? c);
}

/** The decoders for a `Content-Encoding` header, outermost (last applied) first. */
export function decodersFor(header: string | undefined): Transform[] {
  const codings = (header ?? '').split(',').map((c) => c.trim().toLowerCase()).filter((c) => c && c !== 'identity');
  if (codings.length > MAX_CONTENT_ENCODINGS) {
    throw fetchFailure('FetchRejected', `the body has ${codings.length} content encodings, more than ${MAX_CONTENT_ENCODINGS}: refused`);
  }
  return codings.reverse().map((coding) => {
    if (coding === 'gzip' || coding === 'x-gzip') return createGunzip();
    if (coding === 'deflate') return createInflate();
    if (coding === 'br') return createBrotliDecompress();
    throw fetchFailure('FetchRejected', `the content encoding ${coding.slice(0, 50)} is not supported`);
  });
}

function tooLarge(maxBytes: number): Error {
  return fetchFailure('BodyTooLarge', `the body is larger than ${maxBytes} bytes: refused`);
}

/** Counts bytes through a stream and fails it past the cap. */
function byteCap(maxBytes: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      done(seen > maxBytes ? tooLarge(maxBytes) : null, chunk);
    },
  });
}

/**
 * Reads and decodes a body up to `maxBytes` decoded bytes. Leaving early (the cap, an error)
 * destroys every stream of the pipeline, the socket's included: the server sees us hang up.
 */
export async function readCapped(
  body: Readable,
  decoders: Transform[],
  maxBytes: number,
  onProgress?: (bytes: number) => void,
): Promise<Buffer> {
  const decoded: Readable = decoders.length === 0
    ? body
    : pipeline([body, byteCap(maxBytes), ...decoders], () => {}) as unknown as Readable;
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of decoded as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > maxBytes) throw tooLarge(maxBytes);
      chunks.push(chunk);
      onProgress?.(total);
    }
  } finally {
    if (!body.readableEnded) body.on('error', () => {}).destroy();
  }
  return Buffer.concat(chunks, total);
}
