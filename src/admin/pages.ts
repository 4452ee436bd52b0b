// The admin page's HTML (one overview page). Everything shown goes through the `html` tag, which
// escapes it; no password, token or secret is part of the view model at all.
import type { DatastoreOutcome } from '../protocol/observer.js';
import type { SyncStats } from '../sync/types.js';
import type { HistoryEntry } from './history.js';
import { html, Html } from './html.js';

export interface DatastoreView {
  name: string;
  /** Anchors saved: the next session can be incremental. */
  anchored: boolean;
  /** Mapped items (LUID <-> href). */
  items: number;
  /** The last completed session that included this datastore. */
  last?: { at: string; outcome: DatastoreOutcome };
}

export interface DeviceView {
  deviceId: string;
  lastSync?: string;
  model?: string;
  details: string[];
  datastores: DatastoreView[];
  /** Conflicts, refused refreshes, failures and admin actions, newest first. */
  events: HistoryEntry[];
  /** Completed sessions, newest first. */
  syncs: Array<Extract<HistoryEntry, { type: 'sync' }>>;
}

export interface AccountView {
  account: string;
  /** How phones log in: `passthrough` or `gateway secret`. */
  auth: string;
  davUrl?: string;
  datastores: Array<{ name: string; kind: string; uris: string[]; collections: string[]; conflict: string }>;
  devices: DeviceView[];
  backups: Array<{ file: string; datastore: string; takenAt: string; items: number }>;
  /** Restoring needs the DAV login typed in (passthrough accounts have none stored). */
  restoreNeedsLogin: boolean;
}

export interface AdminView {
  version: string;
  /** Where the router is mounted (`/admin`): form actions are absolute. */
  base: string;
  csrf: string;
  message?: string;
  error?: string;
  accounts: AccountView[];
}

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}h1{font-size:1.4em}h2{margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.4em 0 1em}td,th{border:1px solid #ddd;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f4f4f4}.msg{background:#e8f5e9;padding:.5em}.err{background:#fdecea;padding:.5em}.device{margin-left:1em}
form.inline{display:inline}.muted{color:#777}code{font-size:.95em}`;

export function renderPage(v: AdminView): Html {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>SyncML gateway admin</title><style>${rawStyle()}</style></head>
<body><h1>SyncML gateway ${v.version}: admin</h1>
${v.message ? html`<p class="msg" role="status">${v.message}</p>` : ''}
${v.error ? html`<p class="err" role="alert">${v.error}</p>` : ''}
${v.accounts.length === 0 ? html`<p>No accounts mapped and no devices known.</p>` : ''}
${v.accounts.map((a) => renderAccount(a, v.csrf, v.base))}
</body></html>`;
}

/** The style sheet is a constant of this file, not data: the one unescaped text. */
function rawStyle(): Html {
  return new Html(STYLE);
}

function renderAccount(a: AccountView, csrf: string, base: string): Html {
  return html`<section class="account" data-account="${a.account}">
<h2>Account ${a.account}</h2>
<p>Login: ${a.auth}${a.davUrl ? html` · DAV server <code>${a.davUrl}</code>` : ''}</p>
${a.datastores.length ? html`<table><tr><th>datastore</th><th>kind</th><th>names phones use</th><th>collections</th><th>conflicts</th></tr>
${a.datastores.map((d) => html`<tr><td>${d.name}</td><td>${d.kind}</td><td>${d.uris.join(', ')}</td><td>${d.collections.map((c) => html`<code>${c}</code> `)}</td><td>${d.conflict}</td></tr>`)}</table>`
    : html`<p class="muted">No mapping for this account (devices remain from an earlier one).</p>`}
<h3>Devices</h3>
${a.devices.length === 0 ? html`<p class="muted">No device has synced yet.</p>` : a.devices.map((d) => renderDevice(a.account, d, csrf, base))}
<h3>Backups</h3>
${a.backups.length === 0 ? html`<p class="muted">No backups (one is taken before an allowed refresh from a phone).</p>` : html`<table>
<tr><th>taken</th><th>datastore</th><th>items</th><th></th></tr>
${a.backups.map((b) => html`<tr><td>${b.takenAt}</td><td>${b.datastore}</td><td>${b.items}</td><td>
<form method="post" action="${base}/restore" class="inline">${hidden({ csrf, account: a.account, file: b.file })}
${a.restoreNeedsLogin ? html`<input name="davUser" placeholder="DAV user" autocomplete="off" required> <input name="davPassword" type="password" placeholder="DAV password" autocomplete="off" required>` : ''}
<button type="submit">Restore missing items</button></form></td></tr>`)}
</table>`}
</section>`;
}

function renderDevice(account: string, d: DeviceView, csrf: string, base: string): Html {
  return html`<div class="device" data-device="${d.deviceId}">
<h4>${d.deviceId}${d.model ? html` <span class="muted">(${d.model})</span>` : ''}</h4>
${d.details.length ? html`<p class="muted">${d.details.join(' · ')}</p>` : ''}
<p>Last completed sync: <span class="last-sync">${d.lastSync ?? 'never'}</span></p>
<table><tr><th>datastore</th><th>state</th><th>mapped items</th><th>last sync</th><th>mode</th><th>from phone (add/repl/del/failed)</th><th>to phone (add/repl/del)</th><th>result</th><th></th></tr>
${d.datastores.map((ds) => html`<tr data-datastore="${ds.name}"><td>${ds.name}</td><td>${ds.anchored ? 'incremental' : 'next sync is slow'}</td><td class="items">${ds.items}</td>
${ds.last ? lastCells(ds.last.at, ds.last.outcome) : html`<td colspan="5" class="muted">no history</td>`}
<td><form method="post" action="${base}/reset" class="inline">${hidden({ csrf, account, device: d.deviceId, datastore: ds.name })}<button type="submit">Reset anchors</button></form></td></tr>`)}
</table>
<form method="post" action="${base}/reset" class="inline">${hidden({ csrf, account, device: d.deviceId })}<button type="submit">Reset all anchors (slow sync)</button></form>
<form method="post" action="${base}/forget" class="inline">${hidden({ csrf, account, device: d.deviceId })}<button type="submit">Forget device</button></form>
${d.syncs.length ? html`<details><summary>Sync history (${d.syncs.length})</summary><table><tr><th>time</th><th>seconds</th><th>datastores</th></tr>
${d.syncs.map((s) => html`<tr><td>${s.at}</td><td>${s.seconds.toFixed(1)}</td><td>${s.datastores.map((o) => `${o.datastore}: ${o.mode}${o.failed ? ' (failed)' : ''}`).join('; ')}</td></tr>`)}</table></details>` : ''}
${d.events.length ? html`<h5>Events: conflicts, refused refreshes, errors, admin actions</h5><ul class="events">${d.events.map((e) => html`<li>${describeEvent(e)}</li>`)}</ul>` : ''}
</div>`;
}

function lastCells(at: string, o: DatastoreOutcome): Html {
  const s: SyncStats = o.stats;
  return html`<td>${at}</td><td class="mode">${o.mode}</td><td>${s.clientAdded}/${s.clientReplaced}/${s.clientDeleted}/${s.clientFailed}</td>
<td>${s.serverAdded}/${s.serverReplaced}/${s.serverDeleted}</td><td>${o.failed ? 'failed' : s.conflicts ? `ok, ${s.conflicts} conflicts` : 'ok'}</td>`;
}

export function describeEvent(e: HistoryEntry): string {
  switch (e.type) {
    case 'conflict': return `${e.at} conflict in ${e.datastore} (${e.guid}): ${e.policy} → ${e.resolution}`;
    case 'refresh-refused': return `${e.at} refresh of ${e.datastore} refused: it would delete ${e.deleted} of ${e.serverItems} items`;
    case 'failed': return `${e.at} session failed: ${e.reason}`;
    case 'admin': return `${e.at} admin: ${e.action}`;
    case 'sync': return `${e.at} sync`;
  }
}

function hidden(fields: Record<string, string>): Html {
  return html`${Object.entries(fields).map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`)}`;
}
