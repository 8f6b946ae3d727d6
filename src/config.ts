/**
 * All configuration comes from the environment and is validated once at start-up; a bad value
 * stops the process with a message naming the variable, instead of failing later mid-request.
 */
import { z } from 'zod';
import { redactSecrets } from './redact.ts';

const StoreUrl = z
  .string()
  .refine((url) => url === 'memory:' || url.startsWith('sqlite:') || url.startsWith('esdb://') || url.startsWith('esdb+discover://'), {
    message: 'must be sqlite:<path>, memory: or an esdb:// connection string',
  })
  .refine((url) => !url.startsWith('sqlite:') || url.length > 'sqlite:'.length, { message: 'sqlite: needs a file path' });

const ApiKeys = z
  .string()
  .transform((text, ctx) => {
    const keys = new Map<string, string>();
    for (const entry of text.split(',').map((s) => s.trim()).filter(Boolean)) {
      const separator = entry.indexOf(':');
      const clientId = entry.slice(0, separator);
      const secret = entry.slice(separator + 1);
      if (separator <= 0 || !/^[A-Za-z0-9_.-]{1,64}$/.test(clientId) || secret.length < 16) {
        ctx.addIssue({ code: 'custom', message: 'entries must be clientId:secret with a secret of at least 16 characters' });
        return z.NEVER;
      }
      if ([...keys.values()].includes(secret)) {
        ctx.addIssue({ code: 'custom', message: `two clients share a secret (${clientId})` });
        return z.NEVER;
      }
      keys.set(clientId, secret);
    }
    return keys;
  });

export const ConfigSchema = z.object({
  LEDGER_STORE: StoreUrl.default('sqlite:./data/ledger.db'),
  LEDGER_READ_MODELS: z.string().min(1).default('./data/read-models.db'),
  LEDGER_SYNCHRONOUS: z.enum(['FULL', 'EXTRA', 'NORMAL']).default('FULL'),
  PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  LEDGER_API_KEYS: ApiKeys.optional(),
  LEDGER_AUTH: z.enum(['on', 'off']).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LEDGER_SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  LEDGER_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(300_000).default(10_000),
  LEDGER_MAX_WAITING_READS: z.coerce.number().int().min(1).max(1_000_000).default(1_000),
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
