/**
 * HTTP plumbing of the server, on Node's own `http`: the JSON error body every failure has, reading a
 * request body within a size and a time limit, and refusing a request without leaving its body unread (a
 * socket closed with unread input sends a reset, which can destroy the answer before the client reads it).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The kinds of error answer (`error_type` in the body; the OpenAPI description lists them). */
export type ErrorType =
  | 'validation'
  | 'auth'
  | 'not_found'
  | 'method'
  | 'too_large'
  | 'timeout'
  | 'overloaded'
  | 'unavailable'
  | 'gpu'
  | 'internal';

/** An error answer: HTTP status, type, message, and the request field at fault when there is one. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly status: number,
    readonly type: ErrorType,
    message: string,
    readonly field?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  body(): { error: string; error_type: ErrorType; field?: string } {
    return { error: this.message, error_type: this.type, ...(this.field !== undefined ? { field: this.field } : {}) };
  }
}

/** Bytes of a request body read so far (for the access log), by request. */
export const bytesRead = new WeakMap<IncomingMessage, number>();

/**
 * The whole body, or an HttpError: 413 past `limit` bytes, 408 when it has not all arrived `timeoutMs` after
 * the headers. On 413 / 408 the rest of the body is left to `discardBody`.
 */
export function readBody(req: IncomingMessage, limit: number, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (error?: HttpError) => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
      if (error) reject(error);
      else resolve(Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      bytesRead.set(req, size);
      if (size > limit) return done(tooLarge(limit));
      chunks.push(chunk);
    };
    const onEnd = () => done();
    const onError = () => done(new HttpError(400, 'validation', 'the request body was cut off'));
    const onClose = () => {
      if (!req.complete) onError();
    };
    const timer = setTimeout(
      () => done(new HttpError(408, 'timeout', `the request body did not arrive within ${timeoutMs} ms`)),
      timeoutMs,
    );
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

export const tooLarge = (limit: number) =>
  new HttpError(413, 'too_large', `the request body is larger than the limit of ${limit} bytes (max-body)`);

/**
 * Reads and drops what is left of a body before a refusal is sent, so that the connection closes cleanly
 * (or stays usable). Gives up after `maxBytes` or `maxMs`: then 'cut', and the caller closes the connection.
 */
export function discardBody(req: IncomingMessage, maxBytes: number, maxMs: number): Promise<'ended' | 'cut'> {
  if (req.complete || req.readableEnded) return Promise.resolve('ended');
  return new Promise((resolve) => {
    let size = 0;
    const finish = (how: 'ended' | 'cut') => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onCut);
      req.off('close', onClose);
      if (how === 'cut') req.pause();
      resolve(how);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) finish('cut');
    };
    const onEnd = () => finish('ended');
    const onCut = () => finish('cut');
    const onClose = () => finish(req.complete ? 'ended' : 'cut');
    const timer = setTimeout(onCut, maxMs);
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onCut);
    req.on('close', onClose);
    req.resume();
  });
}

/** Headers of every answer: no caching, no content sniffing. */
const COMMON_HEADERS = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };

/** Sends `payload` (already serialised) with `status`; does nothing if an answer was already started. */
export function sendText(
  res: ServerResponse,
  status: number,
  payload: string,
  contentType: string,
  headers: Record<string, string> = {},
): number {
  if (res.headersSent || res.destroyed) return 0;
  const bytes = Buffer.byteLength(payload);
  res.writeHead(status, {
    ...COMMON_HEADERS,
    'content-type': contentType,
    'content-length': String(bytes),
    ...headers,
  });
  res.end(payload);
  return bytes;
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): number {
  return sendText(res, status, JSON.stringify(body), 'application/json', headers);
}
