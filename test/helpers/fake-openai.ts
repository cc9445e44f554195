/**
 * A fake OpenAI-compatible HTTP server on loopback, so tests exercise the real `openai`
 * client over real sockets: scripted replies, errors, delays and malformed bodies.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { strictModeViolations } from '../../activities/llm/strict-schema.js';

export interface FakeReply {
  status?: number;
  headers?: Record<string, string>;
  content?: string;
  json?: unknown;
  body?: unknown;
  delayMs?: number;
  finishReason?: string;
  refusal?: string;
}

export interface FakeOpenAi {
  /** e.g. http://127.0.0.1:PORT/v1 — pass as OpenAI baseURL. */
  baseUrl: string;
  requests: { path: string; body: any; headers: Record<string, string | string[] | undefined> }[];
  /** Scripted replies for /v1/chat/completions, consumed in order. */
  enqueueChat(...replies: FakeReply[]): void;
  /** Scripted replies for /v1/embeddings, consumed in order. */
  enqueueEmbeddings(...replies: FakeReply[]): void;
  /** The reply when the chat queue is empty; settable. */
  onChat: (body: any) => FakeReply;
  /** Clears queues and requests, restores the default `onChat`. */
  reset(): void;
  close(): Promise<void>;
}

const DEFAULT_DIMENSIONS = 8;

export async function startFakeOpenAi(): Promise<FakeOpenAi> {
  const chatQueue: FakeReply[] = [];
  const embeddingQueue: FakeReply[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => sendFailure(res, err));
  });
  const fake: FakeOpenAi = {
    baseUrl: '',
    requests: [],
    enqueueChat: (...replies) => void chatQueue.push(...replies),
    enqueueEmbeddings: (...replies) => void embeddingQueue.push(...replies),
    onChat: defaultChatReply,
    reset() {
      chatQueue.length = 0;
      embeddingQueue.length = 0;
      fake.requests.length = 0;
      fake.onChat = defaultChatReply;
    },
    close: () => closeServer(server, sockets),
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJson(req);
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    fake.requests.push({ path, body, headers: req.headers });
    if (req.method === 'POST' && path === '/v1/chat/completions') {
      const refused = strictSchemaRefusal(body);
      if (refused) return send(res, { status: 400, content: refused }, () => ({}));
      const reply = chatQueue.shift() ?? fake.onChat(body);
      return send(res, reply, () => chatCompletion(reply, body));
    }
    if (req.method === 'POST' && path === '/v1/embeddings') {
      return send(res, embeddingQueue.shift() ?? {}, () => embeddingsResponse(body));
    }
    return send(res, { status: 404, content: `no route ${req.method} ${path}` }, () => ({}));
  }

  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  fake.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  return fake;
}

async function send(res: ServerResponse, reply: FakeReply, success: () => unknown): Promise<void> {
  if (reply.delayMs) await waitUnlessClosed(res, reply.delayMs);
  if (res.destroyed || res.writableEnded) return;
  const status = reply.status ?? 200;
  const payload = reply.body !== undefined ? reply.body : status >= 400 ? errorBody(status, reply) : success();
  res.writeHead(status, { 'content-type': 'application/json', ...reply.headers });
  res.end(typeof payload === 'string' ? payload : JSON.stringify(payload));
}

/** Resolves early when the client goes away, so an aborted request frees its socket now. */
function waitUnlessClosed(res: ServerResponse, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    res.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function sendFailure(res: ServerResponse, err: unknown): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(500, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: { message: `fake server failed: ${String(err)}`, type: 'server_error', code: null } }));
}

/** Destroys open sockets too: a delayed reply must not keep `close()` (and the test) waiting. */
function closeServer(server: Server, sockets: Set<Socket>): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    for (const socket of sockets) socket.destroy();
  });
}

/** The parsed JSON body, or the raw text when it is not JSON. */
async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return text;
  }
}

/**
 * What OpenAI answers a `strict: true` response format whose schema is outside strict mode's
 * subset: a 400 before any model runs (the checker is the one the client sends by).
 */
function strictSchemaRefusal(body: any): string | null {
  const format = body?.response_format;
  if (format?.type !== 'json_schema' || format.json_schema?.strict !== true) return null;
  const [first] = strictModeViolations(format.json_schema.schema ?? {});
  return first ? `Invalid schema for response_format '${format.json_schema.name}': at '${first.path || '/'}', ${first.problem}.` : null;
}

const ERROR_CODES: Record<number, string> = { 401: 'invalid_api_key', 404: 'model_not_found', 429: 'rate_limit_exceeded' };

/** OpenAI's error shape; `content` becomes the message. */
function errorBody(status: number, reply: FakeReply): unknown {
  const type = status === 429 ? 'requests' : status >= 500 ? 'server_error' : 'invalid_request_error';
  const code = ERROR_CODES[status] ?? `http_${status}`;
  return { error: { message: reply.content ?? `fake error ${status}`, type, code, param: null } };
}

let completionCount = 0;

function chatCompletion(reply: FakeReply, request: any): unknown {
  const text = reply.json !== undefined ? JSON.stringify(reply.json) : (reply.content ?? '');
  const promptTokens = Math.ceil(JSON.stringify(request?.messages ?? []).length / 4);
  const completionTokens = Math.ceil(text.length / 4);
  return {
    id: `chatcmpl-fake-${++completionCount}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: request?.model ?? 'fake-model',
    choices: [
      {
        index: 0,
        finish_reason: reply.finishReason ?? 'stop',
        logprobs: null,
        message: { role: 'assistant', content: reply.refusal ? null : text, refusal: reply.refusal ?? null },
      },
    ],
    usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
  };
}

function defaultChatReply(body: any): FakeReply {
  const format = body?.response_format;
  if (format?.type === 'json_schema') return { json: exampleOf(format.json_schema?.schema ?? {}) };
  return { content: `Fake reply to: ${lastUserText(body).slice(0, 60)}` };
}

function lastUserText(body: any): string {
  const messages: any[] = Array.isArray(body?.messages) ? body.messages : [];
  const last = [...messages].reverse().find((m) => m?.role === 'user');
  if (typeof last?.content === 'string') return last.content;
  if (Array.isArray(last?.content)) return last.content.map((part: any) => part?.text ?? '').join(' ');
  return '';
}

/** The simplest value a plain JSON schema accepts, so an unscripted structured call still parses. */
function exampleOf(schema: any): unknown {
  if (schema?.const !== undefined) return schema.const;
  if (Array.isArray(schema?.enum)) return schema.enum[0];
  if (Array.isArray(schema?.anyOf)) return exampleOf(schema.anyOf[0]);
  const type = Array.isArray(schema?.type) ? schema.type[0] : schema?.type;
  if (type === 'object') {
    const required = Object.entries(schema.properties ?? {}).filter(([key]) => schema.required?.includes(key));
    return Object.fromEntries(required.map(([key, child]) => [key, exampleOf(child)]));
  }
  if (type === 'array') return Array.from({ length: schema.minItems ?? 0 }, () => exampleOf(schema.items));
  if (type === 'string') return 'x'.repeat(Math.max(1, schema.minLength ?? 1));
  if (type === 'number' || type === 'integer') return schema.minimum ?? 0;
  return type === 'boolean' ? false : null;
}

function embeddingsResponse(body: any): unknown {
  const inputs: unknown[] = Array.isArray(body?.input) ? body.input : [body?.input];
  const dimensions: number = body?.dimensions ?? DEFAULT_DIMENSIONS;
  const base64 = body?.encoding_format === 'base64';
  const data = inputs.map((input, index) => {
    const vector = fakeEmbedding(typeof input === 'string' ? input : JSON.stringify(input), dimensions);
    const embedding = base64 ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector;
    return { object: 'embedding', index, embedding };
  });
  const tokens = inputs.reduce<number>((sum, input) => sum + Math.ceil(String(input).length / 4), 0);
  return { object: 'list', data, model: body?.model ?? 'fake-embedding', usage: { prompt_tokens: tokens, total_tokens: tokens } };
}

/** Deterministic, unit-length, and exactly representable in float32 (so base64 round-trips). */
export function fakeEmbedding(text: string, dimensions: number): number[] {
  const bytes: number[] = [];
  for (let block = 0; bytes.length < dimensions; block++) {
    bytes.push(...createHash('sha256').update(`${block}:${text}`).digest());
  }
  const raw = bytes.slice(0, dimensions).map((b) => b - 127.5);
  const norm = Math.hypot(...raw) || 1;
  return raw.map((x) => Math.fround(x / norm));
}
