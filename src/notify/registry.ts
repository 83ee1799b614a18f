import type { ChannelFactory } from './channel.js';
import { slackFactory } from './slack.js';
import { smtpFactory } from './smtp.js';
import { webhookFactory } from './webhook.js';

/**
 * Every notification channel, by URL scheme. Adding one is a file exporting a ChannelFactory
 * and a line here; the resolver, help texts and hints find it through this list.
 */
export const channelFactories: readonly ChannelFactory[] = [webhookFactory, slackFactory, smtpFactory];

/** The factory for a scheme (without the colon, any case), or undefined when none serves it. */
export function findChannelFactory(scheme: string): ChannelFactory | undefined {
  const s = scheme.toLowerCase();
  return channelFactories.find((f) => f.schemes.includes(s));
}
