// Asks the OS for an unused TCP port. There is an inherent race between
// closing the probe and the caller binding it; prefer listening on port 0
// directly when you control the server.
import { createServer } from "node:net";

export function getFreePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, host, () => {
      const address = probe.address();
      const port = address !== null && typeof address === "object" ? address.port : 0;
      probe.close(() => (port ? resolve(port) : reject(new Error("could not determine a free port"))));
    });
  });
}
