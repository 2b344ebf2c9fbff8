import { json } from '@sveltejs/kit';
import { control } from '../../control.js';

export const GET = async ({ url }) => json(await control.stats(url.searchParams));
