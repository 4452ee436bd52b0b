// Public surface of the versit line-syntax layer (shared by vCard and vCalendar conversion).
export type {
  ParseVersitOptions,
  SerializeVersitOptions,
  VersitComponent,
  VersitEncoding,
  VersitParam,
  VersitProperty,
  VersitVersion,
} from './types.js';
export { parseVersit } from './parse.js';
export { serializeVersit, serializeProperty, fold, splitParamList } from './serialize.js';
export {
  escapeComponent,
  escapeText,
  isLegacy,
  joinList,
  joinStructured,
  splitAt,
  splitList,
  splitStructured,
  splitUnescaped,
  unescapeText,
} from './text.js';
export { decodeBytes } from './charset.js';
export { DEVICE_NAME_PARAM, deviceName, isStorableName, standIn, storableName } from './names.js';
