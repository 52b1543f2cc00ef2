/** Byte counts for people, in binary units everywhere (the app, the store's messages, the CLI). */

/** 512 → "512 B", 1536 → "1.5 KiB", 13.2e6 → "12.6 MiB", 4.1e9 → "3.82 GiB". */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}
