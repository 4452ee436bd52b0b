// Public surface of the admin page: router, its credential and CSRF, and the sync history.
export { adminRouter } from './router.js';
export type { AdminDeps } from './router.js';
export { AdminAuth, adminSettingsFrom, hashAdminPassword } from './auth.js';
export type { AdminCredential, AdminSettings } from './auth.js';
export { HistoryObserver, SyncHistory, HISTORY_RETENTION_DAYS } from './history.js';
export type { HistoryEntry } from './history.js';
export { escapeHtml, html, Html } from './html.js';
