// Public surface of the field filters: CTCap parsing, device profiles, filter and merge.
export { parseCtCaps, ctCapsForDataStore, selectFilter, capFor } from './ctcap.js';
export type { FieldFilter, PropertyCap } from './ctcap.js';
export { loadDeviceProfiles, parseDeviceProfile, matchDeviceProfile, effectiveFilter } from './profiles.js';
export type { DeviceProfile, DeviceIdentity, ProfileFilter, PropertyPatch } from './profiles.js';
export { filterForDevice, mergeFromDevice, truncateUtf8, utf8Length } from './apply.js';
