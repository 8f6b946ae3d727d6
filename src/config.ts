/**
 * All configuration comes from the environment and is validated once at start-up; a bad value
 * stops the process with a message naming the variable, instead of failing later mid-request.
 */
import { z } from 'zod';
import { DEFAULT_STATE_CACHE_BOUNDS } from './commands/state-cache.ts';
import { envNumber } from './env-number.ts';
import { StoreUrlSchema } from './eventstore/store-url.ts';
import { STRIPE_CONFIG_FIELDS } from './payments/stripe-config.ts';
import { redactSecrets } from './redact.ts';

export type ClientRole = 'client' | 'auditor';

export interface ApiKey {
  readonly secret: string;
  readonly role: ClientRole;
}

const CLIENT_ID = /^[A-Za-z0-9_.-]{1,64}$/;
/**
 * Printable ASCII without spaces, and without the list's comma and colon: what a Bearer token can
 * carry verbatim, and never mistaken for a role (`secret:auditer` is refused, not a writer's secret).
 */
const SECRET = /^[\x21-\x2b\x2d-\x39\x3b-\x7e]{16,}$/;
const ROLES: readonly ClientRole[] = ['client', 'auditor'];
/** The client every request acts as while auth is off: an API key under this id would own those orders. */
export const ANONYMOUS_CLIENT = 'anonymous';

/**
 * `clientId:secret` or `clientId:secret:role` (role `client` or `auditor`), comma-separated. Issues
 * never quote a secret (nor a role, which may be a mistyped part of one): the message names the
 * variable and the client, so it is safe in a log.
 */
const ApiKeys = z.string().transform((text, ctx) => {
  const keys = new Map<string, ApiKey>();
  const fail = (message: string) => {
    ctx.addIssue({ code: 'custom', message });
    return z.NEVER;
  };
  for (const entry of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [clientId = '', secret = '', role = 'client', ...rest] = entry.split(':');
    if (!CLIENT_ID.test(clientId)) {
      return fail('entries must be clientId:secret or clientId:secret:auditor (client ids: 1-64 of A-Z a-z 0-9 _ . -)');
    }
    if (rest.length > 0) return fail(`the entry of client ${clientId} has too many ':' (a secret may not contain one)`);
    if (clientId === ANONYMOUS_CLIENT) {
      return fail(
        `client id ${ANONYMOUS_CLIENT} is reserved: it is the client every request acts as while auth is off`,
      );
    }
    if (!ROLES.includes(role as ClientRole)) {
      return fail(`client ${clientId} has an unknown role: the part after the secret must be ${ROLES.join(' or ')}`);
    }
    if (!SECRET.test(secret)) {
      return fail(
        `the secret of client ${clientId} must be at least 16 printable characters without spaces, commas or colons`,
      );
    }
    if (keys.has(clientId)) return fail(`client ${clientId} is listed twice in LEDGER_API_KEYS`);
    const shared = [...keys.values()].some((key) => key.secret === secret);
    if (shared) return fail(`two clients share a secret (${clientId})`);
    keys.set(clientId, { secret, role: role as ClientRole });
  }
  return keys;
});

const CorsOrigins = z.string().transform((text, ctx) => {
  const origins = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const origin of origins) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (parsed === undefined || parsed.origin !== origin) {
      ctx.addIssue({ code: 'custom', message: `${origin} is not an origin such as https://shop.example:8443` });
      return z.NEVER;
    }
  }
  return origins;
});

export const ConfigSchema = z.object({
  LEDGER_STORE: StoreUrlSchema.prefault('sqlite:./data/ledger.db'),
  LEDGER_READ_MODELS: z.string().min(1).default('./data/read-models.db'),
  LEDGER_SYNCHRONOUS: z.enum(['FULL', 'EXTRA', 'NORMAL']).default('FULL'),
  PORT: envNumber(z.coerce.number().int().min(0).max(65_535).default(3000)),
  HOST: z.string().min(1).default('127.0.0.1'),
  LEDGER_API_KEYS: ApiKeys.optional(),
  LEDGER_AUTH: z.enum(['on', 'off']).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LEDGER_SHUTDOWN_TIMEOUT_MS: envNumber(z.coerce.number().int().min(100).max(120_000).default(10_000)),
  LEDGER_REQUEST_TIMEOUT_MS: envNumber(z.coerce.number().int().min(1_000).max(300_000).default(10_000)),
  LEDGER_MAX_WAITING_READS: envNumber(z.coerce.number().int().min(1).max(1_000_000).default(1_000)),
  /** Bounds of the per-process cache of decided streams (src/commands/state-cache.ts); 0 disables it. */
  LEDGER_STATE_CACHE_ENTRIES: envNumber(
    z.coerce.number().int().min(0).max(100_000_000).default(DEFAULT_STATE_CACHE_BOUNDS.maxEntries),
  ),
  LEDGER_STATE_CACHE_MB: envNumber(
    z.coerce
      .number()
      .min(0)
      .max(1_000_000)
      .default(DEFAULT_STATE_CACHE_BOUNDS.maxBytes / 2 ** 20),
  ),
  /** Requests per minute per client (its API key, else its address); 0 turns the limit off. */
  LEDGER_RATE_LIMIT: envNumber(z.coerce.number().int().min(0).max(1_000_000).default(600)),
  /** Loopback clients are not limited unless this is on (a proxy on the same host would otherwise be one client). */
  LEDGER_RATE_LIMIT_LOOPBACK: z.enum(['on', 'off']).default('off'),
  /** Past this event-loop lag, requests are shed with 503 overloaded; 0 turns shedding off. */
  LEDGER_MAX_EVENT_LOOP_DELAY_MS: envNumber(z.coerce.number().int().min(0).max(60_000).default(1_000)),
  /** Browser origins allowed by CORS, comma-separated (`https://shop.example`); unset: no CORS headers. */
  LEDGER_CORS_ORIGINS: CorsOrigins.optional(),
  /** The payment service provider asynchronous captures go through; unset: none (they answer 501). */
  LEDGER_PSP: z.enum(['stripe']).optional(),
  LEDGER_PAYMENT_BUFFER: envNumber(z.coerce.number().int().min(1).max(10_000_000).default(10_000)),
  LEDGER_PSP_CONCURRENCY: envNumber(z.coerce.number().int().min(1).max(1_024).default(16)),
  LEDGER_PAYMENT_CLAIM_LEASE_MS: envNumber(z.coerce.number().int().min(100).max(86_400_000).default(30_000)),
  LEDGER_PSP_KEY_WINDOW_MS: envNumber(
    z.coerce
      .number()
      .int()
      .min(1_000)
      .default(23 * 3_600_000),
  ),
  /** off: this server takes requests into the buffer, and `ledger process-payments` processes them. */
  LEDGER_PAYMENT_PROCESSOR: z.enum(['on', 'off']).default('on'),
  ...STRIPE_CONFIG_FIELDS,
  /** worker: the projection runner on a thread of its own (memory: stores always run it in-process). */
  LEDGER_PROJECTION_RUNNER: z.enum(['worker', 'in-process']).default('worker'),
});
export type Config = z.infer<typeof ConfigSchema>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = ConfigSchema.safeParse(env);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
  throw new ConfigError(redactSecrets(`invalid configuration:\n${lines.join('\n')}`));
}
