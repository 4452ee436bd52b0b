// Backups of a collection taken before a destructive refresh, and restoring them (admin command).
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { GatewayError } from '../errors.js';
import type { DataStore, StoredItem } from '../datastores/datastore.js';

export interface CollectionBackup {
  account: string;
  datastore: string;
  collectionUrl: string;
  takenAt: string;
  items: Array<{ href: string; etag: string; data: string }>;
}

/** Write a backup as JSON under `dir/<account>/`; returns the file name. */
export async function writeBackup(dir: string, account: string, datastore: string, collectionUrl: string, items: readonly StoredItem[]): Promise<string> {
  const takenAt = new Date().toISOString();
  const folder = backupFolder(dir, account);
  mkdirSync(folder, { recursive: true });
  const file = path.join(folder, `${datastore}-${takenAt.replace(/[:.]/g, '-')}.json`);
  const backup: CollectionBackup = { account, datastore, collectionUrl, takenAt, items: items.map((i) => ({ href: i.href, etag: i.etag, data: i.data })) };
  writeFileSync(file, JSON.stringify(backup, null, 1));
  return file;
}

/** The folder of one account's backups under the backups dir. */
export function backupFolder(dir: string, account: string): string {
  return path.join(dir, account.replace(/[^\w.-]/g, '_'));
}

/** An account's backups, newest first (at most `limit`): file name (in its folder) and summary. */
export function listBackups(dir: string, account: string, limit = 20): Array<{ file: string; datastore: string; takenAt: string; items: number }> {
  const folder = backupFolder(dir, account);
  if (!existsSync(folder)) return [];
  // Newest first by the time stamp that ends each name (`<datastore>-2026-03-01T10-00-00-000Z.json`).
  const stamp = (f: string): string => f.slice(-29, -5);
  const names = readdirSync(folder).filter((f) => f.endsWith('.json')).sort((a, b) => (stamp(a) < stamp(b) ? 1 : stamp(a) > stamp(b) ? -1 : 0));
  const out: Array<{ file: string; datastore: string; takenAt: string; items: number }> = [];
  for (const file of names) {
    if (out.length >= limit) break;
    try {
      const b = readBackup(path.join(folder, file));
      if (b.account === account) out.push({ file, datastore: b.datastore, takenAt: b.takenAt, items: b.items.length });
    } catch {
      // not a backup: ignored here, `syncml-gateway restore` names the problem
    }
  }
  return out.sort((a, b) => (a.takenAt < b.takenAt ? 1 : -1));
}

export function readBackup(file: string): CollectionBackup {
  try {
    const b = JSON.parse(readFileSync(file, 'utf8')) as CollectionBackup;
    if (!Array.isArray(b.items) || typeof b.collectionUrl !== 'string') throw new Error('not a collection backup');
    return b;
  } catch (err) {
    throw new GatewayError('CONFIG_INVALID', `${file}: ${(err as Error).message}`, { cause: err });
  }
}

/** Put every backed-up item back that is missing from the collection (existing items are left alone). */
export async function restoreBackup(backup: CollectionBackup, store: DataStore): Promise<{ restored: number; present: number }> {
  const present = new Set((await store.list()).items.map((i) => decodeURIComponent(i.href)));
  let restored = 0;
  for (const item of backup.items) {
    if (present.has(decodeURIComponent(item.href))) continue;
    await store.create(item.data, path.basename(item.href).replace(/\.(vcf|ics)$/, ''));
    restored++;
  }
  return { restored, present: backup.items.length - restored };
}
