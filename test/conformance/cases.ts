import type { Case } from './cases-common.js';
import { BY_ID, DATES } from './cases-reads.js';
import { UNKNOWN_FIELDS } from './cases-fields.js';
import { TEXT_SEARCH } from './cases-text.js';
import { FIDELITY } from './cases-fidelity.js';
import { ROUND_THREE } from './cases-round3.js';
import { OBJECT_PARAMS, OPERATOR_WORDS, RAW_PROJECTION } from './cases-round4.js';
import { ROUND_FIVE } from './cases-round5.js';
import { COERCION, OPERATOR_TYPES, PROJECTION } from './cases-writes.js';

export type { Case } from './cases-common.js';

/** Every case of issue #19, items 1 to 12 (cases-common.ts says how a case reads). */
export const CASES: Case[] = [
  ...DATES,
  ...BY_ID,
  ...OPERATOR_TYPES,
  ...COERCION,
  ...PROJECTION,
  ...UNKNOWN_FIELDS,
  ...TEXT_SEARCH,
  ...FIDELITY,
  ...ROUND_THREE,
  ...RAW_PROJECTION,
  ...OBJECT_PARAMS,
  ...OPERATOR_WORDS,
  ...ROUND_FIVE,
];
