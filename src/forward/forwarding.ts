import type { Config } from '../config/types.js';
import { errorMessage } from '../errors.js';
import { Forwarder, type ForwarderOptions } from './forwarder.js';

/**
 * The forwarder of a watch, while its configuration has `forward`: started, reconfigured, started
 * or stopped on a reload, told about every sync. Nothing here ever stops the watch: a failure is
 * one line in the log.
 */
export class Forwarding {
  private forwarder: Forwarder | undefined;

  constructor(private readonly options: ForwarderOptions) {}

  async start(config: Config): Promise<void> {
    if (!config.forward) return;
    try {
      this.forwarder = await Forwarder.start(config, this.options);
    } catch (err) {
      this.options.log.error(`forward: cannot start (${errorMessage(err)}); watch goes on syncing`);
    }
  }

  /** After SIGHUP: the new configuration, with or without `forward`. */
  async reload(config: Config): Promise<void> {
    try {
      if (!this.forwarder) return await this.start(config);
      if (config.forward) return await this.forwarder.reload(config);
      await this.close();
      this.options.log.info('forward: no longer configured; stopped answering');
    } catch (err) {
      this.options.log.error(`forward: cannot take the new configuration (${errorMessage(err)})`);
    }
  }

  /** After a sync: what its targets hold now. */
  synced(result: { targets: { target: string }[] }): void {
    this.forwarder?.synced(result.targets.map((t) => t.target));
  }

  async close(): Promise<void> {
    const forwarder = this.forwarder;
    this.forwarder = undefined;
    await forwarder?.close();
  }
}
