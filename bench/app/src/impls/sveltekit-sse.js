import { produce } from 'sveltekit-sse';
import { sveltekitSse } from '../../../impls/sveltekit-sse.mjs';

export const name = 'sveltekit-sse';
export const impl = sveltekitSse({ produce });
