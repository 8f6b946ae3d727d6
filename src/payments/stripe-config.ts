/**
 * The Stripe adapter's settings, validated like the rest of the configuration: the secret key,
 * where the API is (Stripe itself, or a local stand-in such as stripe-mock), the webhook signing
 * secret and the per-call timeout. Issues name the variable, never its value.
 */
import { z } from 'zod';
import { envNumber } from '../env-number.ts';

/** The SDK's `host`, `port` and `protocol` options, which is how it is pointed anywhere but api.stripe.com. */
export interface StripeApiBase {
  readonly host: string;
  readonly port: number;
  readonly protocol: 'http' | 'https';
}

export const STRIPE_API_BASE_DEFAULT = 'https://api.stripe.com';

/**
 * `scheme://host[:port]` and nothing more: a path would be silently dropped by the SDK (it always
 * requests `/v1/…`), and userinfo would put a credential in a URL that gets logged.
 */
export const StripeApiBaseSchema = z.string().transform((text, ctx): StripeApiBase => {
  const fail = (message: string) => {
    ctx.addIssue({ code: 'custom', message });
    return z.NEVER;
  };
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail('must be a URL such as https://api.stripe.com or http://127.0.0.1:12111');
  }
  const protocol = url.protocol.replace(/:$/, '');
  if (protocol !== 'http' && protocol !== 'https') return fail('must use http or https');
  if (url.username !== '' || url.password !== '') return fail('must not carry a user or password');
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') {
    return fail('must be scheme://host[:port] without a path, query or fragment');
  }
  const port = url.port === '' ? (protocol === 'https' ? 443 : 80) : Number(url.port);
  // URL keeps the brackets of an IPv6 literal; the SDK passes host to node:http, which wants it bare.
  return { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port, protocol };
});

/** Secret (`sk_`) or restricted (`rk_`) keys, live or test; a publishable `pk_` key cannot charge. */
const StripeApiKeySchema = z
  .string()
  .regex(/^(?:sk|rk)_(?:live|test)_[A-Za-z0-9_]{8,}$/, 'must be a Stripe secret key (sk_live_…, sk_test_…, rk_…)');

const WebhookSecretSchema = z.string().regex(/^whsec_[A-Za-z0-9_]{8,}$/, 'must be a webhook signing secret (whsec_…)');

/**
 * The variables as the ledger's configuration holds them: all optional there, because they matter
 * only with LEDGER_PSP=stripe, which then requires the key (see gateway-from-config).
 */
export const STRIPE_CONFIG_FIELDS = {
  STRIPE_API_KEY: StripeApiKeySchema.optional(),
  STRIPE_API_BASE: StripeApiBaseSchema.prefault(STRIPE_API_BASE_DEFAULT),
  STRIPE_WEBHOOK_SECRET: WebhookSecretSchema.optional(),
  STRIPE_TIMEOUT_MS: envNumber(z.coerce.number().int().min(100).max(120_000).default(15_000)),
};
