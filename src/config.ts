// Gateway settings: config/defaults.yaml, overridden by environment variables (explicit > env > defaults).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { GatewayError } from './errors.js';

export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const settingsSchema = z.object({
  port: z.coerce.number().int().min(0).max(65535),
  host: z.string().min(1),
  syncmlPath: z.string().startsWith('/'),
  mappingsDir: z.string().min(1),
  stateDir: z.string().min(1),
  redisUrl: z.string(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  publicUrl: z.string(),
  maxBodyBytes: z.coerce.number().int().positive(),
  sessionTtlSeconds: z.coerce.number().int().positive(),
  authCacheSeconds: z.coerce.number().int().min(0),
  serverMaxMsgSize: z.coerce.number().int().min(2000),
  davTimeoutSeconds: z.coerce.number().int().positive(),
  replyDeadlineSeconds: z.coerce.number().min(0),
  resumeTtlSeconds: z.coerce.number().int().min(0),
  mappingsWatch: z.union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'])])
    .transform((v) => v === true || v === 'true' || v === '1' || v === 'yes' || v === 'on'),
  shutdownGraceSeconds: z.coerce.number().min(0),
  tlsCertFile: z.string(),
  tlsKeyFile: z.string(),
  tlsPort: z.coerce.number().int().min(0).max(65535),
  tlsProfile: z.enum(['modern', 'legacy']),
  challengeTtlSeconds: z.coerce.number().int().positive(),
  preAuthMaxBodyBytes: z.coerce.number().int().positive(),
  authFailuresPerAddress: z.coerce.number().int().positive(),
  authFailuresPerAccount: z.coerce.number().int().positive(),
  authFailureWindowSeconds: z.coerce.number().int().positive(),
  maxConcurrentMessages: z.coerce.number().int().min(0),
  maxQueuedMessages: z.coerce.number().int().min(0),
  davMaxConnections: z.coerce.number().int().min(1).max(1024),
  davMaxResponseBytes: z.coerce.number().int().min(1024).max(Number.MAX_SAFE_INTEGER),
  heapGrowingPercent: z.coerce.number().int().min(0).max(300),
  deviceTimezone: z.string().refine((tz) => { try { new Intl.DateTimeFormat('en', { timeZone: tz }); return true; } catch { return false; } }, 'not an IANA time zone'),
});

export type Settings = z.infer<typeof settingsSchema>;

const ENV_NAMES: Record<keyof Settings, string> = {
  port: 'PORT', host: 'HOST', syncmlPath: 'SYNCML_PATH', mappingsDir: 'MAPPINGS_DIR', stateDir: 'STATE_DIR',
  redisUrl: 'REDIS_URL', logLevel: 'LOG_LEVEL', publicUrl: 'PUBLIC_URL', maxBodyBytes: 'MAX_BODY_BYTES',
  sessionTtlSeconds: 'SESSION_TTL_SECONDS', authCacheSeconds: 'AUTH_CACHE_SECONDS', serverMaxMsgSize: 'SERVER_MAX_MSG_SIZE',
  deviceTimezone: 'DEVICE_TIMEZONE', davTimeoutSeconds: 'DAV_TIMEOUT_SECONDS', replyDeadlineSeconds: 'REPLY_DEADLINE_SECONDS',
  resumeTtlSeconds: 'RESUME_TTL_SECONDS', mappingsWatch: 'MAPPINGS_WATCH', shutdownGraceSeconds: 'SHUTDOWN_GRACE_SECONDS',
  tlsCertFile: 'TLS_CERT_FILE', tlsKeyFile: 'TLS_KEY_FILE', tlsPort: 'TLS_PORT', tlsProfile: 'TLS_PROFILE',
  challengeTtlSeconds: 'CHALLENGE_TTL_SECONDS', preAuthMaxBodyBytes: 'PRE_AUTH_MAX_BODY_BYTES',
  authFailuresPerAddress: 'AUTH_FAILURES_PER_ADDRESS', authFailuresPerAccount: 'AUTH_FAILURES_PER_ACCOUNT', authFailureWindowSeconds: 'AUTH_FAILURE_WINDOW_SECONDS',
  maxConcurrentMessages: 'MAX_CONCURRENT_MESSAGES', maxQueuedMessages: 'MAX_QUEUED_MESSAGES', davMaxConnections: 'DAV_MAX_CONNECTIONS',
  davMaxResponseBytes: 'DAV_MAX_RESPONSE_BYTES', heapGrowingPercent: 'HEAP_GROWING_PERCENT',
};

export function loadSettings(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Settings> = {}): Settings {
  const defaultsFile = path.join(PACKAGE_ROOT, 'config', 'defaults.yaml');
  const defaults = parseYaml(readFileSync(defaultsFile, 'utf8')) as Record<string, unknown>;
  const merged: Record<string, unknown> = { ...defaults };
  for (const [key, envName] of Object.entries(ENV_NAMES)) {
    const v = env[envName];
    if (v !== undefined && v !== '') merged[key] = v;
  }
  Object.assign(merged, overrides);
  const result = settingsSchema.safeParse(merged);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const key = String(issue.path[0]) as keyof Settings;
      return `setting ${key} (env ${ENV_NAMES[key] ?? '?'}): ${issue.message}`;
    });
    throw new GatewayError('CONFIG_INVALID', problems.join('\n'));
  }
  return result.data;
}

/** The URL phones post to; RespURI and the server's Source/LocURI are built from it. */
export function publicSyncUrl(s: Settings, actualPort?: number): string {
  if (s.publicUrl) return s.publicUrl;
  return `http://${s.host.includes(':') ? `[${s.host}]` : s.host}:${actualPort ?? s.port}${s.syncmlPath}`;
}
