// The browser side of svelte-sse-kit. Server code lives in 'svelte-sse-kit/server'.
export * from './client/index.js';
