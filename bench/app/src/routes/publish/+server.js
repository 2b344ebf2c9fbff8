import { json } from '@sveltejs/kit';
import { control } from '../../control.js';

export const POST = async ({ url }) => json(await control.publish(url.searchParams));
