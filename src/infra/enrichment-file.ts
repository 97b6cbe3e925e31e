import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** The CONFIGURATION_PATH file of the original service. */
const EnrichmentFile = z.strictObject({
  /** The user property holding the identity id (e.g. `authUserId`). */
  user_id: z.string().min(1),
  /** Identity properties, by their Auth0 names, to add to each user (e.g. `last_login`). */
  additionalProperties: z.array(z.string().min(1)),
});
export type Enrichment = z.infer<typeof EnrichmentFile>;

/** Reads and checks the file once at start-up; a bad file stops the service with its path. */
export function loadEnrichment(path: string): Enrichment {
  try {
    return EnrichmentFile.parse(JSON.parse(readFileSync(path, 'utf8')));
  } catch (error) {
    throw new Error(`CONFIGURATION_PATH ${path}: ${(error as Error).message}`);
  }
}
