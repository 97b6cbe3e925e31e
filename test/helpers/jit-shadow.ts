import { afterEach, expect } from 'vitest';
import { takeJitShadowDifferences } from '../../src/graphql-jit-shadow.js';

/** Setup of the jit-shadow project: a test fails when graphql-jit answered one of its documents unlike graphql-js. */
afterEach(() => {
  expect(takeJitShadowDifferences(), 'graphql-jit and graphql-js answered differently').toEqual([]);
});
