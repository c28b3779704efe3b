import certReload from './cert-reload.ts';
import config from './config.ts';
import deploy from './deploy.ts';
import { handlersOf } from './handler.ts';
import notify from './notify.ts';
import restart from './restart.ts';
import script from './script.ts';

/** The shipped job kinds as the worker runs them: each definition (jobs/<name>.ts) with its run half (here). */
export const shippedHandlers = handlersOf(script, restart, certReload, deploy, config, notify);
