import { hub } from '$demo/server/hub.server.js';

/** The one event stream of the app: `?topics=story&topics=logs…`, resumable with Last-Event-ID. */
export const GET = hub.handler();
