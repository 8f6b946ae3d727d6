import { hash } from 'node:crypto';

/**
 * RFC 8785 canonical JSON: the same value always hashes the same, whatever its key order.
 *
 * The same bytes as the `canonicalize` package (test/events/canonical.test.ts checks it on random
 * values), written as plain loops: every stored event is serialised once per hash check, and the
 * package's reduce callbacks, JSON.stringify per string and general sort cost about twice as much.
 */
export function canonicalJson(value: unknown): string {
  const text = serialize(value);
  if (text === undefined) throw new TypeError('value has no JSON representation');
  return text;
}

function serialize(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return quoted(value);
    case 'number':
      if (Number.isNaN(value)) throw new Error('NaN is not allowed');
      if (!Number.isFinite(value)) throw new Error('Infinity is not allowed');
      // A finite number's JSON text is its ECMAScript string, as RFC 8785 asks.
      return `${value}`;
    case 'object':
      break;
    default:
      // Booleans; undefined, functions and symbols have no text; a bigint throws as JSON.stringify does.
      return JSON.stringify(value);
  }
  if (value === null) return 'null';
  const object = value as { toJSON?: unknown } & Record<string, unknown>;
  if (object.toJSON instanceof Function) return serialize(object.toJSON());
  if (Array.isArray(value)) {
    let text = '[';
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      // As the package: a missing item is null; a function inside an array prints as `undefined`.
      text += `${i === 0 ? '' : ','}${item === undefined || typeof item === 'symbol' ? 'null' : serialize(item)}`;
    }
    return `${text}]`;
  }
  const keys = Object.keys(object);
  sortKeys(keys);
  let text = '';
  for (const key of keys) {
    const item = object[key];
    if (item === undefined || typeof item === 'symbol') continue;
    text += `${text.length === 0 ? '' : ','}${quoted(key)}:${serialize(item)}`;
  }
  return `{${text}}`;
}

/** JSON.stringify of a string, without the call for the usual string that needs no escape. */
function quoted(text: string): string {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // Control characters, quote, backslash and surrogates (a lone one is escaped) go the long way.
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return JSON.stringify(text);
  }
  return `"${text}"`;
}

/**
 * In place, by UTF-16 code units, as Array.prototype.sort orders strings: an object has a handful
 * of keys, where an insertion sort beats the general one.
 */
function sortKeys(keys: string[]): void {
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i]!;
    let j = i - 1;
    for (; j >= 0 && keys[j]! > key; j--) keys[j + 1] = keys[j]!;
    keys[j + 1] = key;
  }
}

/** SHA-256 as hex, one call: a Hash object per value costs twice as much for these short texts. */
export function sha256Hex(text: string): string {
  return hash('sha256', text);
}
