// Public surface of the WBXML codec: WBXML bytes <-> encoding-neutral SmlElement tree.

export { decodeWbxml, isWbxml, type WbxmlDecodeOptions, type WbxmlDocument } from './decode.js';
export { encodeWbxml, type WbxmlEncodeOptions } from './encode.js';
export {
  DEVINF_TYPE_WBXML,
  DEVINF_TYPE_XML,
  NS_DEVINF,
  NS_METINF,
  PUBLIC_ID,
  docTypeOf,
  fpi,
  publicIdFor,
  syncMlNamespace,
  type DocType,
  type SyncMlVersion,
  type WbxmlLanguage,
} from './code-pages.js';
