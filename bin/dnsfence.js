#!/usr/bin/env node
// The entry point before it became CommonJS (bin/dnsfence.cjs, which says why). Systemd units and
// cron lines written by earlier versions name this file: they keep working after an upgrade.
import './dnsfence.cjs';
