/**
 * Where a webhook goes: its URL, checked when it is written, and its secret, sealed at rest.
 *
 * URLs: https on a public address, checked through the egress guard (which resolves the host) when
 * the webhook is set, and again at every delivery (deliver.ts; DNS may change). With
 * AIRMY_ALLOW_PRIVATE_WEBHOOKS=1 (development, tests) http:// and private or loopback addresses are
 * allowed too; hosts on AIRMY_EGRESS_ALLOW pass the private-address check. Alert channels and
 * completion webhooks share this check, so the same URL is accepted or refused by both.
 *
 * Secrets are write-only: sealed with the server's secret box, bound to what owns them (an agent, a
 * pipeline, a run, a pipeline run), never returned: the API shows `secret_set`. A run inheriting
 * its agent's webhook gets the secret re-sealed for itself, so it keeps working after the agent's
 * webhook changes or goes.
 */
import { unprocessable } from '../errors.ts';
import type { SecretBox } from '../infra/crypto/secret-box.ts';
import { type Egress, EgressError } from '../infra/egress/egress.ts';

/** What a client sends: `webhook: {url, secret?}`. */
export interface WebhookInput {
  url: string;
  secret?: string;
}

/** As stored (JSON in the owner's `webhook` column). */
export interface StoredWebhook {
  url: string;
  secret: string | null;
}

export type WebhookOwner = 'agent' | 'pipeline' | 'run' | 'pipeline_run';

const aad = (owner: WebhookOwner, id: string) => `webhook:${owner}:${id}`;

/** 422 `invalid_webhook_url` naming `param` unless `raw` may receive webhooks. */
export async function checkWebhookUrl(
  egress: Egress,
  allowPrivate: boolean,
  raw: string,
  param: string,
): Promise<void> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw unprocessable('invalid_webhook_url', 'The webhook URL is not a valid URL', param);
  }
  if (url.protocol !== 'https:' && !(allowPrivate && url.protocol === 'http:')) {
    throw unprocessable('invalid_webhook_url', 'Webhook URLs must use https', param);
  }
  try {
    await egress.check(raw);
  } catch (err) {
    if (err instanceof EgressError) {
      throw unprocessable('invalid_webhook_url', `The webhook URL may not be used: ${err.message}`, param);
    }
    throw err;
  }
}

export interface WebhookTargetDeps {
  /** the guard webhook URLs must pass (allowPrivate when private webhooks are allowed) */
  egress: Egress;
  allowPrivateWebhooks: boolean;
  box: SecretBox;
}

export function createWebhookTargets({ egress, allowPrivateWebhooks, box }: WebhookTargetDeps) {
  return {
    /**
     * Checks and seals a webhook for its owner: the JSON to store, or null for `null` (none).
     * `param` names the field in errors (`webhook.url`).
     */
    async seal(
      input: WebhookInput | null,
      owner: WebhookOwner,
      id: string,
      param = 'webhook',
    ): Promise<string | null> {
      if (input === null) return null;
      await checkWebhookUrl(egress, allowPrivateWebhooks, input.url, `${param}.url`);
      const stored: StoredWebhook = {
        url: input.url,
        secret: input.secret === undefined ? null : box.seal(input.secret, aad(owner, id)),
      };
      return JSON.stringify(stored);
    },
    /** Another owner's stored webhook, its secret re-sealed for `to` (inheritance). */
    reseal(
      stored: string,
      from: { owner: WebhookOwner; id: string },
      to: { owner: WebhookOwner; id: string },
    ): string {
      const w = JSON.parse(stored) as StoredWebhook;
      if (w.secret === null) return stored;
      const plain = box.open(w.secret, aad(from.owner, from.id));
      return JSON.stringify({ url: w.url, secret: box.seal(plain, aad(to.owner, to.id)) });
    },
    /**
     * The webhook a child (a run, a pipeline run) carries: its own when `given` is set (null: none),
     * else its parent's (an agent's, a pipeline's), re-sealed for it.
     */
    async resolve(
      given: WebhookInput | null | undefined,
      parent: { owner: WebhookOwner; id: string; webhook?: string | null },
      child: { owner: WebhookOwner; id: string },
    ): Promise<string | null> {
      if (given !== undefined) return this.seal(given, child.owner, child.id);
      return parent.webhook ? this.reseal(parent.webhook, parent, child) : null;
    },
    /** The URL and the plaintext secret, for a delivery. */
    open(stored: string, owner: WebhookOwner, id: string): { url: string; secret: string | null } {
      const w = JSON.parse(stored) as StoredWebhook;
      return { url: w.url, secret: w.secret === null ? null : box.open(w.secret, aad(owner, id)) };
    },
  };
}
export type WebhookTargets = ReturnType<typeof createWebhookTargets>;

/** What the API shows of a stored webhook: never the secret. */
export function presentWebhook(
  stored: string | null | undefined,
): { url: string; secret_set: boolean } | null {
  if (stored == null) return null;
  const w = JSON.parse(stored) as StoredWebhook;
  return { url: w.url, secret_set: w.secret !== null };
}
