// The control plane the node:http bench servers have (bench/servers/common.mjs), for `$impl`.
import { impl, name } from '$impl';
import { controlPlane } from '../../servers/common.mjs';

export const control = controlPlane(`${name} (built)`, impl);
