/**
 * Preloaded into `node build` by the runner (`--import`): adapter-node listens with Node's default
 * backlog (511), the bench servers with `BACKLOG` (common.mjs). With 511, thousands of clients
 * reconnecting at once lose SYNs to the full queue and wait out TCP's retransmission backoff
 * (a storm of 5,000 did not finish in 60 s), which measures the queue, not the implementation.
 */
import net from 'node:net';
import { BACKLOG } from './common.mjs';

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (options, ...rest) {
	const withBacklog =
		options && typeof options === 'object' && options.backlog === undefined
			? { ...options, backlog: BACKLOG }
			: options;
	return listen.call(this, withBacklog, ...rest);
};
