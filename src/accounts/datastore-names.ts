// Datastore names phones use in Alert Target (and as their own Source), and what to tell an admin
// when a phone asks for a name the account mapping does not list (issue #13): the exact name,
// the datastore it most likely means, and the line to put into the mapping file.
import type { ItemKind } from '../datastores/datastore.js';
import { normaliseUri, type AccountMapping } from './mappings.js';

/**
 * Names seen from phones, normalised (see normaliseUri), by kind: Ericsson/Sony Ericsson (`pb`,
 * `EriPBDB`, `EriCalDB`), Motorola (`/cal`, `/pb`), IrMC-style paths (`telecom/pb.vcf`), Nokia,
 * Synthesis/SyncEvolution and Funambol clients.
 */
export const KNOWN_DATASTORE_NAMES: Readonly<Record<ItemKind, readonly string[]>> = {
  contacts: ['contacts', 'contact', 'addressbook', 'card', 'cards', 'pb', 'phonebook', 'telecom/pb.vcf', 'eripbdb', 'scard', 'vcard', 'people'],
  events: ['calendar', 'cal', 'events', 'event', 'agenda', 'scal', 'vcalendar', 'telecom/cal.vcs', 'ericaldb', 'scheduler'],
  tasks: ['tasks', 'task', 'todo', 'todos', 'stask', 'telecom/todo.vcs'],
  notes: ['notes', 'note', 'memo', 'memos', 'snote', 'telecom/note.vcf'],
};

const TYPE_KIND: Array<[RegExp, ItemKind]> = [
  [/vcard/i, 'contacts'],
  [/todo|task/i, 'tasks'],
  [/calendar/i, 'events'],
  [/plain|vnote|note/i, 'notes'],
];

/** The kind a datastore name (or the device's content type for it) suggests, if any. */
export function kindOfName(uri: string, ctType?: string): ItemKind | undefined {
  const key = normaliseUri(uri);
  for (const [kind, names] of Object.entries(KNOWN_DATASTORE_NAMES) as Array<[ItemKind, readonly string[]]>) {
    if (names.includes(key) || names.includes(key.replace(/^.*\//, ''))) return kind;
  }
  for (const [re, kind] of TYPE_KIND) if (ctType && re.test(ctType)) return kind;
  return undefined;
}

export interface UnknownDatastoreHint {
  /** The name exactly as the phone sent it. */
  uri: string;
  /** The phone's own name for it (Alert Source), when sent. */
  source?: string;
  /** The mapping's datastore it most likely means. */
  datastore?: string;
  kind?: ItemKind;
  /** The `uris:` line to put into that datastore of the mapping file. */
  line?: string;
  /** One sentence for the log and for `devices list`. */
  message: string;
}

/**
 * What to tell the admin when the phone asks for `uri` and the mapping has no datastore by that
 * name. `source` is the phone's Alert Source; `ctType` its preferred type for that datastore
 * (DevInf Rx-Pref), both optional.
 */
export function unknownDatastoreHint(mapping: AccountMapping, uri: string, source?: string, ctType?: string): UnknownDatastoreHint {
  const kind = kindOfName(uri, ctType) ?? (source ? kindOfName(source) : undefined);
  const ds = kind ? mapping.datastores.find((d) => d.kind === kind) : undefined;
  const said = `phone asked for datastore "${uri}"${source ? ` (its own name: "${source}")` : ''}`;
  const out: UnknownDatastoreHint = { uri, message: '' };
  if (source) out.source = source;
  if (kind) out.kind = kind;
  if (ds) {
    const line = `uris: [${[...ds.uris, uri].map(yamlItem).join(', ')}]`;
    out.datastore = ds.name;
    out.line = line;
    out.message = `${said}, which ${mapping.file} does not list; it looks like ${kind}: in datastores.${ds.name} write "${line}"`;
  } else {
    const names = mapping.datastores.map((d) => d.name).join(', ') || 'none';
    out.message = `${said}, which ${mapping.file} does not list (datastores: ${names}); add "${uri}" to the uris of the datastore it means${kind ? ` (a ${kind} datastore)` : ''}`;
  }
  return out;
}

/** A flow-sequence item: quoted when YAML would read it otherwise. */
function yamlItem(s: string): string {
  return /^[A-Za-z0-9_./-]+$/.test(s) && !/^[-.]$/.test(s) ? s : JSON.stringify(s);
}
