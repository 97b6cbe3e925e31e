import type { DocumentNode } from 'graphql';
import { LRUCache } from 'lru-cache';

/**
 * Bytes of AST a parsed token costs, with its location (measured: 2,000 tokens, about 950 KB).
 * Yoga's own caches count entries only (1,024 documents, 1,024 parse errors): 1,000 anonymous
 * documents of 2,000 tokens, 4 KB of text each, held a gigabyte.
 */
const BYTES_PER_TOKEN = 500;
/** What the parsed documents may hold in all: a console page's document (about 100 tokens, 50 KB) fits some 300 times. */
const DOCUMENT_CACHE_BYTES = 16 * 1024 * 1024;
/** What the parse errors may hold (each keeps its source text). */
const ERROR_CACHE_BYTES = 4 * 1024 * 1024;
const MAX_ENTRIES = 1024;
const TTL_MS = 3_600_000;

/**
 * Yoga's parser cache (`parserAndValidationCache`), bounded by the memory its entries take: the
 * source text (UTF-16) and, for a document, its tokens. A document larger than the whole cache
 * is not kept (lru-cache refuses it), and the oldest entries make room for new ones.
 */
export function parserCaches(): { documentCache: LRUCache<string, DocumentNode>; errorCache: LRUCache<string, Error> } {
  return {
    documentCache: new LRUCache<string, DocumentNode>({
      max: MAX_ENTRIES,
      ttl: TTL_MS,
      maxSize: DOCUMENT_CACHE_BYTES,
      sizeCalculation: (document, source) => 2 * source.length + BYTES_PER_TOKEN * tokenCount(document, source),
    }),
    errorCache: new LRUCache<string, Error>({
      max: MAX_ENTRIES,
      ttl: TTL_MS,
      maxSize: ERROR_CACHE_BYTES,
      sizeCalculation: (_error, source) => 2 * source.length + 1,
    }),
  };
}

/** The document's tokens, counted along the parser's token list (at most GRAPHQL_MAX_TOKENS); without it, at most one a character. */
function tokenCount(document: DocumentNode, source: string): number {
  let token = document.loc?.startToken;
  if (!token) return source.length;
  let count = 0;
  while (token) {
    count += 1;
    token = token.next ?? undefined;
  }
  return count;
}
