// Worker side of the decode pool: decodes one SyncML body off the main event loop.
import { decodeMessage, type DecodeLimits, type Decoded } from '../codec/index.js';
import type { WireFormat } from '../codec/model.js';
import { isGatewayError } from '../errors.js';

export interface DecodeTask {
  body: Uint8Array;
  encoding: WireFormat['encoding'];
  limits: DecodeLimits;
}

export type DecodeOutcome = { ok: true; decoded: Decoded } | { ok: false; code: string; message: string };

export default function decode(task: DecodeTask): DecodeOutcome {
  try {
    return { ok: true, decoded: decodeMessage(task.body, task.encoding, task.limits) };
  } catch (err) {
    return { ok: false, code: isGatewayError(err) ? err.code : 'BAD_MESSAGE', message: err instanceof Error ? err.message : String(err) };
  }
}
