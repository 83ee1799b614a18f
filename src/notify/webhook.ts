import { createHmac } from 'node:crypto';
import type { ChannelFactory } from './channel.js';
import type { RunEvent } from './event.js';
import { checkHttpTarget, hostOf, post } from './http.js';

/** `X-Strongbox-Signature: sha256=<hex>`: HMAC-SHA256 of the exact body, as GitHub signs its webhooks. */
export function signature(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** A generic webhook: the RunEvent as a JSON POST, signed when a secret is given. */
export const webhookFactory: ChannelFactory = {
  channel: 'webhook',
  schemes: ['https', 'http'],
  form: 'https://host/path (a JSON POST of the event)',
  urlIsSecret: true,
  open(url, opts) {
    checkHttpTarget(url, 'a webhook URL');
    const target = url.href;
    return {
      display: `webhook (${hostOf(url)})`,
      async send(event: RunEvent, signal: AbortSignal) {
        const body = JSON.stringify(event);
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (opts.signingSecret) headers['x-strongbox-signature'] = signature(body, opts.signingSecret);
        await post(target, body, headers, signal);
      },
    };
  },
};
