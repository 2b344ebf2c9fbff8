import { name } from '$impl';
import { endWithParent } from '../../servers/common.mjs';

// Like every bench server, the app ends with the runner (or after the lifetime limit).
export const init = () => endWithParent(`${name} (built)`);
