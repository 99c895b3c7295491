import type { Notification, NotifyEvent } from './events.js';

/** Addresses shown per event in a chat message; the JSON format carries them all. */
const SHOWN = 10;

/** Slack's three control characters; Mattermost and Rocket.Chat read the text as Markdown. */
const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function addresses(e: NotifyEvent): string {
  const all = [...e.added.map((a) => `+${a}`), ...e.removed.map((a) => `-${a}`)];
  if (all.length === 0) return '';
  const more = all.length > SHOWN ? ` and ${all.length - SHOWN} more` : '';
  return `: ${all.slice(0, SHOWN).join(' ')}${more}`;
}

/**
 * The notification as one chat message (`{"text": …}`, which Slack, Mattermost and Rocket.Chat
 * incoming webhooks take): a heading, then one line per event.
 */
export function chatText(n: Notification, host: string): string {
  const kinds = [...new Set(n.events.map((e) => e.event))].join(', ');
  const heading = `dnsfence on ${host}${n.run === null ? '' : `, run ${n.run}`}: ${kinds}`;
  const lines = n.events.map((e) => {
    const names = e.event === 'change' && e.names.length > 0 ? ` (${e.names.join(', ')})` : '';
    return `• ${e.event}: ${e.message}${e.event === 'change' ? addresses(e) : ''}${names}`;
  });
  return escape([heading, ...lines].join('\n'));
}

export function body(n: Notification, format: 'json' | 'slack', host: string): string {
  return format === 'slack' ? JSON.stringify({ text: chatText(n, host) }) : JSON.stringify(n);
}
