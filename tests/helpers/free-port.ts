// A free TCP port on 127.0.0.1, for servers the tests start.
import { createServer } from 'node:net';

/** A port nothing listens on right now: the one the OS gives to a listener on port 0. */
export function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = createServer();
		server.unref();
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const address = server.address();
			const port = typeof address === 'object' && address ? address.port : 0;
			server.close(() => (port ? resolve(port) : reject(new Error('No port from the OS.'))));
		});
	});
}
