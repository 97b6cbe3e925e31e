import type { GraphiQLOptions } from 'graphql-yoga';

const pages = new Map<string, Promise<string>>();

/**
 * GraphiQL with its scripts, styles and editor workers inlined from the npm package: the page loads
 * nothing from a CDN (yoga's default page pulls them from unpkg.com). The page weighs about 9 MB,
 * so it is built once per set of options, and the package is loaded only when the page is first
 * asked for: loading it costs about 45 MB of memory, a third of an idle service's.
 */
export function renderLocalGraphiQL(options?: GraphiQLOptions): Promise<string> {
  const key = JSON.stringify(options ?? {});
  let page = pages.get(key);
  if (page === undefined) {
    page = import('@graphql-yoga/render-graphiql').then(({ renderGraphiQL }) => renderGraphiQL(options));
    pages.set(key, page);
  }
  return page;
}
