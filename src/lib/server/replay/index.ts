// The replay layer: what a client missed (topic safety, the plan, the pages) and writing it at the client's pace.
export {
	createEmitWithHistory,
	cursorsAfter,
	DEFAULT_PAGE_SIZE,
	type ReplayInput,
	replayMissedMessages,
} from './missed.js';
export {
	DEFAULT_INITIAL_HISTORY,
	type Gap,
	type GapReason,
	type InitialHistory,
	initialHistoryOf,
	type NewTopicHistory,
	type PlanReplayInput,
	planReplay,
	type ReplayPlan,
	type SSEGap,
	type SSEGapReason,
} from './plan.js';
export { analyzeTopicSafety, setTopicSubscription, type TopicSafety } from './topic-safety.js';
export { type ReplayOutcome, type ReplayTarget, ReplayWriter } from './writer.js';
