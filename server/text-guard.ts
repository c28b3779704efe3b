import { getCookie } from 'hono/cookie';
import { createMiddleware } from 'hono/factory';
import { DEVICE_COOKIE } from './auth/devices.ts';
import type { AppEnv } from './context.ts';
import { HttpError } from './errors.ts';
import { SESSION_COOKIE } from './middleware.ts';

/**
 * Text checked once at the edge, before anything reads it. PostgreSQL refuses NUL in text and
 * unpaired UTF-16 surrogates in jsonb, and a handler that passed them on answered 500; so every
 * string a request carries (path, query, the headers and cookie we read, any body) is checked here
 * and a bad one is a 400, whatever the route.
 */

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
/** A percent escape still in a value after decoding: it did not decode (not UTF-8). */
const UNDECODED_ESCAPE = /%[0-9a-f]{2}/i;

export const isBadText = (s: string): boolean => s.includes('\0') || LONE_SURROGATE.test(s);

const invalidText = (where: string, name: string | null) =>
  new HttpError(
    400,
    'invalid_text',
    `${where}${name ? ` (${name})` : ''} holds a NUL byte, an unpaired surrogate or bytes that are not UTF-8`,
    { where, name },
  );

/** decodeURIComponent, or null where the escapes are not UTF-8 (it throws URIError there). */
function decodeOrNull(s: string): string | null {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}

function checkUrl(raw: string): void {
  const url = new URL(raw);
  for (const segment of url.pathname.split('/')) {
    const text = decodeOrNull(segment);
    if (text === null || isBadText(text)) throw invalidText('path', null);
  }
  for (const pair of url.search.slice(1).split('&')) {
    const eq = pair.indexOf('=');
    const [name, value] = eq < 0 ? [pair, ''] : [pair.slice(0, eq), pair.slice(eq + 1)];
    const key = decodeOrNull(name.replaceAll('+', ' '));
    const text = decodeOrNull(value.replaceAll('+', ' '));
    if (key === null || isBadText(key)) throw invalidText('query parameter name', null);
    if (text === null || isBadText(text)) throw invalidText('query parameter', key);
  }
}

/** The headers that reach the database or a comparison (the rest are never read as text). */
const READ_HEADERS = ['Authorization', 'Idempotency-Key', 'X-CSRF-Token'];

/** The cookies whose values reach the database: the session and the known-device cookie (sign-in). */
const READ_COOKIES = [SESSION_COOKIE, DEVICE_COOKIE];

/** Rejects bad text in the URL, the headers we read and the cookies we read. */
export const rejectBadRequestText = createMiddleware<AppEnv>(async (c, next) => {
  checkUrl(c.req.url);
  for (const name of READ_HEADERS) {
    const value = c.req.header(name);
    if (value !== undefined && isBadText(value)) throw invalidText('header', name);
  }
  for (const name of READ_COOKIES) {
    const value = getCookie(c, name);
    if (value !== undefined && (isBadText(value) || UNDECODED_ESCAPE.test(value))) throw invalidText('cookie', name);
  }
  await next();
});

/** Every string and object key in a parsed JSON value, without recursion (bodies may nest deeply). */
export function jsonHasBadText(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') {
      if (isBadText(v)) return true;
    } else if (Array.isArray(v)) {
      for (const item of v) stack.push(item);
    } else if (v !== null && typeof v === 'object') {
      for (const [k, inner] of Object.entries(v)) {
        if (isBadText(k)) return true;
        stack.push(inner);
      }
    }
  }
  return false;
}

async function formHasBadText(form: FormData): Promise<boolean> {
  for (const [name, value] of form.entries()) {
    if (isBadText(name)) return true;
    // Uploaded files are read as text (PEM), so their contents are text too.
    const texts = typeof value === 'string' ? [value] : [value.name, await value.text()];
    if (texts.some(isBadText)) return true;
  }
  return false;
}

/**
 * JSON typed into a form field (an import, a pasted job body): the body check above sees only its
 * escapes (`\u0000` is six harmless characters), so the parsed value is checked here. Null when
 * it is not JSON; a 400 naming the field when it holds bad text.
 */
export function parseFormJson(raw: string, field: string): { value: unknown } | null {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return null;
  }
  if (jsonHasBadText(value)) throw invalidText('form field', field);
  return { value };
}

const FORM_TYPE = /^\s*(multipart\/form-data|application\/x-www-form-urlencoded)\b/i;

const NO_BODY_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Rejects bad text anywhere in a body, and form bodies that do not parse (a broken multipart
 * boundary, a truncated part). Runs after the body limit. A form is read from a clone; any other
 * body through HonoRequest's cached `text()`, which handlers read again for free (`jsonBody`).
 * Neither touches `c.req.raw.body`: on @hono/node-server that builds a whole web Request.
 */
export const rejectBadBodyText = createMiddleware<AppEnv>(async (c, next) => {
  if (NO_BODY_METHODS.has(c.req.method)) return next();
  const type = c.req.header('Content-Type') ?? '';
  if (FORM_TYPE.test(type)) {
    const form = await c.req.raw
      .clone()
      .formData()
      .catch(() => null);
    if (!form) throw new HttpError(400, 'invalid_request', 'the form body is malformed', null);
    if (await formHasBadText(form)) throw invalidText('form body', null);
    return next();
  }
  // Handlers parse JSON whatever the Content-Type says, so any other body is checked as JSON text.
  const text = await c.req.text();
  if (text === '') return next();
  if (text.includes('\0')) throw invalidText('body', null);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return next(); // not JSON: the handler answers that with its own 400
  }
  if (jsonHasBadText(parsed)) throw invalidText('JSON body', null);
  await next();
});
