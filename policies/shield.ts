// The one place graphql-shield (and the graphql-middleware it plugs into) is loaded.
// graphql-shield's last release (7.6.5, 2022) ships an ESM build that imports `isUndefined`
// from node:util, which Node 23+ removed, so that entry cannot even be linked; its CommonJS build
// only calls the function inside `chain` and `race`, which we do not expose. graphql-middleware
// must then come from its CommonJS build too: shield's middleware generator is recognized by
// class identity. graphql itself has a single (CJS) entry under Node, so every module here
// shares one graphql instance.
import { createRequire } from 'node:module';
import type * as Shield from 'graphql-shield';
import type * as Middleware from 'graphql-middleware';

const require = createRequire(import.meta.url);
const shieldModule = require('graphql-shield') as typeof Shield;
const middlewareModule = require('graphql-middleware') as typeof Middleware;

export const { shield, rule, allow, deny, and, or, not } = shieldModule;
export const { applyMiddleware } = middlewareModule;
