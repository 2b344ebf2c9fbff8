// The server's errors: a refused request or publish (SSEHubError, SSEValidationError) and an
// option that cannot work (SSEConfigError), each with a `code` to branch on.
/** What went wrong, for code that branches on it; also the `error.code` of a refused request. */
export type SSEHubErrorCode =
	/** The request named no topic. */
	| 'no_topics'
	/** A topic name breaks the protocol's grammar. */
	| 'invalid_topic'
	/** A topic the hub does not declare. */
	| 'unknown_topic'
	/** More topics than `limits.maxTopics`. */
	| 'too_many_topics'
	/** The `client` parameter is not an id `SSEClient` could have made. */
	| 'invalid_client'
	/** A `history`, `first` or `had` parameter names a topic the request does not ask for. */
	| 'invalid_history'
	/** No session could be resolved for the request. */
	| 'unauthorized'
	/** `authorize` refused the request or some of its topics. */
	| 'forbidden'
	/** The session already has `limits.maxConnectionsPerSession` open streams. */
	| 'too_many_connections'
	/** The history store did not answer (Redis down, say). */
	| 'history_unavailable'
	/** Published data failed its topic's schema, or JSON cannot carry it. */
	| 'invalid_data'
	/** `publish` was given an `idempotencyKey` that is not a non-empty string of at most 200 characters. */
	| 'invalid_idempotency_key'
	/** `hub.snapshot` was given an argument it cannot read (no topics, a bad `last`). */
	| 'invalid_snapshot'
	/** The hub was closed. */
	| 'hub_closed'
	/** `hub.sessionOf()` was called with no event outside a request that `hub.handle` answers. */
	| 'no_request';

/** The first name of `SSEHubErrorCode`. */
export type SSEErrorCode = SSEHubErrorCode;

/** An error of the hub, with a `code` to branch on and the HTTP status it maps to. */
export class SSEHubError extends Error {
	override name = 'SSEHubError';
	readonly code: SSEHubErrorCode;
	readonly status: number;
	/** Extra facts for the client, such as the offending topics. */
	readonly details: Record<string, unknown>;

	constructor(
		code: SSEHubErrorCode,
		status: number,
		message: string,
		details: Record<string, unknown> = {},
		options?: ErrorOptions,
	) {
		super(message, options);
		this.code = code;
		this.status = status;
		this.details = details;
	}

	/** The JSON refusal of the wire protocol: `{ "error": { "code", "message", … } }`. */
	toResponse(headers?: HeadersInit): Response {
		return Response.json(
			{ error: { code: this.code, message: this.message, ...this.details } },
			{ status: this.status, headers },
		);
	}
}

/** One problem a schema found, as Standard Schema reports it. */
export interface SchemaIssue {
	message: string;
	path?: ReadonlyArray<PropertyKey | { key: PropertyKey }>;
}

/** `hub.publish` was given data its topic's schema refuses; nothing was stored or sent. */
export class SSEValidationError extends SSEHubError {
	override name = 'SSEValidationError';
	readonly issues: readonly SchemaIssue[];

	constructor(topic: string, issues: readonly SchemaIssue[]) {
		const summary = issues.map((issue) => issue.message).join('; ');
		super('invalid_data', 400, `Data for topic "${topic}" fails its schema: ${summary}`, {
			topic,
		});
		this.issues = issues;
	}
}

/**
 * An option that cannot work (`maxLength: 1.5`, no topics, a topic name the protocol refuses),
 * thrown where it is given (`createSSEHub`, `memoryHistory`, `redisHistory`, `produceSSE`), so a
 * mistake shows at startup, not at the first event. A `RangeError`, as these were before.
 */
export class SSEConfigError extends RangeError {
	override name = 'SSEConfigError';
	readonly code = 'invalid_option';
}
