// Translator for a phone datastore that mixes events and to-dos: each item is handled by the
// events or the tasks translator according to the component it holds.
import type { DeviceFormat, FieldFilter, ItemTranslator } from './types.js';

const isTodo = (data: string): boolean => /^BEGIN:VTODO/im.test(data);

export function mixedCalendarTranslator(events: ItemTranslator, tasks: ItemTranslator): ItemTranslator {
  const pick = (data: string): ItemTranslator => (isTodo(data) ? tasks : events);
  return {
    kind: 'events',
    deviceFormats: events.deviceFormats,
    toServer: (data: string, from: DeviceFormat, filter?: FieldFilter, onWarning?: (m: string) => void) => pick(data).toServer(data, from, filter, onWarning),
    toDevice: (serverData: string, to: DeviceFormat, filter?: FieldFilter) => pick(serverData).toDevice(serverData, to, filter),
    mergeFromDevice: (serverData: string | undefined, device: string, filter?: FieldFilter) => pick(device).mergeFromDevice(serverData, device, filter),
    fingerprints: (serverData: string) => pick(serverData).fingerprints(serverData),
    hash: (serverData: string) => pick(serverData).hash(serverData),
    modifiedAt: (serverData: string) => pick(serverData).modifiedAt?.(serverData),
  };
}
