import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import type { GraphiQLOptions } from 'graphql-yoga';

const pages = new Map<string, string>();

/**
 * GraphiQL with its scripts, styles and editor workers inlined from the npm package: the page loads
 * nothing from a CDN (yoga's default page pulls them from unpkg.com). The page weighs about 9 MB,
 * so it is built once per set of options.
 */
export function renderLocalGraphiQL(options?: GraphiQLOptions): string {
  const key = JSON.stringify(options ?? {});
  let page = pages.get(key);
  if (page === undefined) pages.set(key, (page = renderGraphiQL(options)));
  return page;
}
