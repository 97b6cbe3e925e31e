import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { builder } from './builder.js';
import './scalars.js';
import './errors.js';
import './user.js';
import './user-mutations.js';
import './group.js';
import './auth.js';
import './roles.js';
import './jobs.js';
import './job-progress.js';
import './import.js';
import { describeResultTypes } from './result-descriptions.js';

export const schema: GraphQLSchema = describeResultTypes(builder.toSchema());

/** The SDL committed as schema.graphql. */
export function printSdl(): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
