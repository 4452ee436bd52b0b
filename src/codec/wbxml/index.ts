// Public surface of the WBXML codec: WBXML bytes <-> encoding-neutral SmlElement tree.
// Decisions (details at the code): OPAQUE text stays {opaque} bytes (lossless; textOf() reads it
// as UTF-8); a DevInf document nested in Data OPAQUE becomes elements; MetInf Type
// `...devinf+wbxml` reads as `+xml` and is written back as `+wbxml`; `ns` is set where the
// namespace changes, as the XML form writes xmlns; item Data is written as OPAQUE.

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
