/**
 * Errors in the OpenAI API's shape, `{error: {message, type, param, code}}` with the status the
 * official SDKs map to their error classes (openai-node src/core/error.ts: 400 BadRequest,
 * 401 Authentication, 404 NotFound, 413, 429 RateLimit, ≥ 500 InternalServer; the SDKs retry 429
 * and 5xx). The engine's own errors (src/errors.ts) are mapped by `toApiError`.
 */
import { Cancelled, DeviceLost, InvalidInput } from '../errors';

/** OpenAI's error `type` values that this server uses. */
export type ApiErrorType = 'invalid_request_error' | 'image_generation_user_error' | 'authentication_error' | 'not_found_error' | 'rate_limit_error' | 'server_error';

/** The JSON body of an error response. */
export interface ApiErrorBody {
  error: { message: string; type: ApiErrorType; param: string | null; code: string | null };
}

/** An HTTP error with OpenAI's body; `retryAfter` (seconds) becomes a Retry-After header. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    message: string,
    readonly type: ApiErrorType,
    readonly param: string | null = null,
    readonly code: string | null = null,
    readonly retryAfter?: number,
  ) {
    super(message);
  }

  get body(): ApiErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** 400 for a bad field: `param` names it as the request spells it. */
export function invalidField(param: string, message: string, code = 'invalid_value'): ApiError {
  return new ApiError(400, message, 'invalid_request_error', param, code);
}

/**
 * 400 `moderation_blocked` (OpenAI's code when its safety system rejects an image request): the
 * safety checker flagged a generated image. `scores` is formatted for the message.
 */
export function moderationBlocked(scores: string): ApiError {
  return new ApiError(400, `Your request was rejected by the safety system: the generated image was flagged by the safety checker (${scores}).`, 'invalid_request_error', null, 'moderation_blocked');
}

/** A Fastify or @fastify/multipart error: it carries `statusCode` and an `FST_…` code. */
interface FrameworkError {
  statusCode?: number;
  code?: string;
  message: string;
}

/**
 * Any error thrown while answering → ApiError: InvalidInput → 400, DeviceLost → 503 (`gpu_lost`,
 * the model is being reloaded), a too-large body or file → 413, a malformed body → 400, anything
 * else → 500 `server_error` with the error's message.
 */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof InvalidInput) return new ApiError(400, e.message, 'invalid_request_error', null, 'invalid_value');
  if (e instanceof DeviceLost) return new ApiError(503, `${e.message.replace(/ Reload the model to continue\.$/, '')} The server is reloading the model; retry shortly.`, 'server_error', null, 'gpu_lost', 10);
  if (e instanceof Cancelled) return new ApiError(500, 'the generation was cancelled', 'server_error', null, 'cancelled');
  const f = e as FrameworkError;
  if (f && typeof f === 'object' && typeof f.statusCode === 'number') {
    if (f.statusCode === 413 || f.code === 'FST_REQ_FILE_TOO_LARGE' || f.code === 'FST_FILES_LIMIT' || f.code === 'FST_PARTS_LIMIT' || f.code === 'FST_FIELDS_LIMIT') {
      return new ApiError(413, f.message, 'invalid_request_error', null, 'request_too_large');
    }
    if (f.statusCode === 415) return new ApiError(415, f.message, 'invalid_request_error', null, 'unsupported_media_type');
    if (f.statusCode >= 400 && f.statusCode < 500) return new ApiError(400, f.message, 'invalid_request_error', null, 'invalid_request');
  }
  return new ApiError(500, e instanceof Error ? e.message : String(e), 'server_error', null, 'engine_error');
}
