/** Starts the hub-like model server for the whole run; the returned function stops it. */
import { startHubServer } from './hubServer';

export default async function globalSetup(): Promise<() => Promise<void>> {
  const hub = await startHubServer();
  return () => hub.close();
}
