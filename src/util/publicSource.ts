/**
 * A model source as it may be written where others can read it (PNG text chunks, history entries
 * and their export, the CLI's PNG): an http(s) URL loses its credentials (user:password@), query
 * (signed-URL tokens such as X-Amz-Signature, ?token=) and fragment; hub ids (owner/name[@rev]),
 * `store:<id>` and anything that does not parse as a URL are returned as they are.
 *   "https://user:pw@host/models/a?X-Amz-Signature=…#x" → "https://host/models/a"
 */
export function publicSource(source: string): string {
  if (!/^https?:\/\//i.test(source)) return source;
  let url: URL;
  try {
    url = new URL(source);
  } catch {
    return source.replace(/[?#].*$/, '').replace(/\/\/[^/@]*@/, '//'); // unparsable: cut at ? or #, drop userinfo
  }
  url.username = '';
  url.password = '';
  url.search = '';
  url.hash = '';
  return url.href;
}
