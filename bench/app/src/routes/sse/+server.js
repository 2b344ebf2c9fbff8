import { impl } from '$impl';

export const GET = impl.GET;
