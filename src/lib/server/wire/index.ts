// The wire layer: the SSE format as pure functions (fields, frames, event ids). No I/O.
export { concatBytes } from './bytes.js';
export {
	encodeComment,
	encodeControl,
	encodeEvent,
	encodePosition,
	encodeRetry,
	frame,
} from './encode.js';
export { type EventPosition, formatEventId, parseEventId } from './event-id.js';
export {
	assertEventId,
	assertTopicName,
	MAX_TOPIC_LENGTH,
	RESERVED_PREFIX,
	serializeData,
	topicNameProblem,
} from './fields.js';
export { type FramedEvent, frameLength, joinFrames } from './frames.js';
