/** How a writing run ended; `running` while it runs, `interrupted` when it was killed or stopped. */
export type RunOutcome = 'running' | 'ok' | 'degraded' | 'failed' | 'interrupted';

/**
 * How one target's push in a run ended: `unchanged` nothing to do, `held` a safety limit held
 * removals back, `partial` some changes confirmed before a failure.
 */
export type PushOutcome = 'ok' | 'unchanged' | 'failed' | 'held' | 'partial';
