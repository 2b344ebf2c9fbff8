import * as lib from 'svelte-sse-kit/server';
import { svelteSseKit } from '../../../impls/svelte-sse-kit.mjs';

export const name = 'svelte-sse-kit';
export const impl = svelteSseKit(lib);
