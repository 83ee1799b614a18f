import type { ChannelFactory } from './channel.js';
import type { RunEvent } from './event.js';
import { checkHttpTarget, hostOf, post } from './http.js';
import { detailLines, headline } from './summary.js';

const ICON: Record<RunEvent['status'], string> = { success: ':white_check_mark:', failure: ':x:', partial: ':warning:', alert: ':warning:' };

/** Slack's mrkdwn treats &, < and > as markup: user data (an error, a label) is escaped. */
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The incoming-webhook payload: a `text` (notifications, old clients) and one section block with the figures and a link to the run. */
export function slackMessage(e: RunEvent): { text: string; blocks: unknown[] } {
  const title = `${ICON[e.status]} *${esc(headline(e))}*`;
  const lines = detailLines(e).map(esc);
  if (e.github?.runUrl) lines.push(`<${e.github.runUrl}|${esc(e.github.workflow ?? 'workflow')} run ${esc(e.github.runId ?? '')}>`);
  const text = [title, ...lines].join('\n');
  // A section's text is limited to 3000 characters.
  return { text: esc(headline(e)), blocks: [{ type: 'section', text: { type: 'mrkdwn', text: text.length > 3000 ? `${text.slice(0, 2990)}…` : text } }] };
}

/** `slack+https://hooks.slack.com/services/T…/B…/…`: an incoming webhook (the URL is the token). */
export const slackFactory: ChannelFactory = {
  channel: 'slack',
  schemes: ['slack+https', 'slack+http'],
  form: 'slack+https://hooks.slack.com/services/… (an incoming webhook)',
  urlIsSecret: true,
  open(url) {
    const target = new URL(url.href.replace(/^slack\+/i, ''));
    checkHttpTarget(target, 'a slack+ URL');
    return {
      display: `slack (${hostOf(target)})`,
      async send(event: RunEvent, signal: AbortSignal) {
        await post(target.href, JSON.stringify(slackMessage(event)), { 'content-type': 'application/json' }, signal);
      },
    };
  },
};
