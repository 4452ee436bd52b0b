// Limits on what a message may make the decoder build, checked before the real parser runs: one
// pass over the text counts elements, attributes and entity/character references (a 3.5 MB body
// of 300k attributes used to block the event loop for seconds inside the XML parser).
import { GatewayError } from '../errors.js';

export interface DecodeLimits {
  maxElements: number;
  maxAttributes: number;
  /** Entity and character references (`&amp;`, `&#65;`). */
  maxReferences: number;
}

/** For messages of an authenticated session. */
export const SESSION_LIMITS: DecodeLimits = { maxElements: 50_000, maxAttributes: 2_000, maxReferences: 100_000 };
/** Before authentication (no session token): a login and a first package need far less. */
export const PRE_AUTH_LIMITS: DecodeLimits = { maxElements: 10_000, maxAttributes: 2_000, maxReferences: 20_000 };

/**
 * Count elements, attributes and references of an XML text; throws BAD_MESSAGE at the first limit
 * passed. Approximate on purpose (it does not parse): it counts start tags (`<` + name), `=` inside
 * tags, and `&`, which is never fewer than what the parser would create.
 */
export function prescanXml(text: string, limits: DecodeLimits): void {
  let elements = 0;
  let attributes = 0;
  let refs = 0;
  let inTag = false;
  let quote = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inTag) {
      if (quote !== 0) {
        if (c === quote) quote = 0;
        else if (c === 0x26 && ++refs > limits.maxReferences) tooMany('entity or character references', limits.maxReferences);
      } else if (c === 0x22 || c === 0x27) quote = c;
      else if (c === 0x3d && ++attributes > limits.maxAttributes) tooMany('attributes', limits.maxAttributes);
      else if (c === 0x3e) inTag = false;
      continue;
    }
    if (c === 0x3c) {
      const n = text.charCodeAt(i + 1);
      // CDATA, comments and declarations are skipped whole; a start tag begins an element.
      if (n === 0x21) {
        const close = text.startsWith('<![CDATA[', i) ? text.indexOf(']]>', i) : text.indexOf('>', i);
        i = close < 0 ? text.length : close;
        continue;
      }
      if (n !== 0x2f && n !== 0x3f && ++elements > limits.maxElements) tooMany('elements', limits.maxElements);
      inTag = true;
    } else if (c === 0x26 && ++refs > limits.maxReferences) {
      tooMany('entity or character references', limits.maxReferences);
    }
  }
}

function tooMany(what: string, limit: number): never {
  throw new GatewayError('TOO_LARGE', `message has more than ${limit} ${what}`);
}
