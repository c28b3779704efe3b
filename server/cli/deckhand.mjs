#!/usr/bin/env node
// The `deckhand` command: loads the TypeScript CLI through tsx.
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
