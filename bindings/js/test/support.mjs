// Test support: a real roomcast-server process (start, stop, restart on the same port and
// data directory) and tokens from its CLI.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

export const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
export const serverBin =
  process.env.ROOMCAST_SERVER ?? join(repo, "target", "debug", "roomcast-server");
const secret = "js-test-secret";

export function token(user, rooms) {
  const args = ["token", "--jwt-secret", secret, "--user", user, "--ttl", "600"];
  if (rooms) args.push("--rooms", rooms);
  return execFileSync(serverBin, args, { encoding: "utf8" }).trim();
}

export class Server {
  /** @param {{ web?: string, args?: string[] }} [options] extra `roomcast-server` arguments */
  constructor({ web, args = [] } = {}) {
    this.data = mkdtempSync(join(tmpdir(), "roomcast-js-"));
    this.web = web;
    this.args = args;
    this.listen = "127.0.0.1:0";
    this.proc = null;
  }

  /** Starts (again, on the same address once known) and resolves with `http://ADDR`. */
  async start() {
    const args = ["--listen", this.listen, "--data", this.data, "--jwt-secret", secret];
    if (this.web) args.push("--web", this.web);
    args.push(...this.args);
    for (let tries = 0; ; tries++) {
      try {
        return await this.#spawn(args);
      } catch (e) {
        // The old process's port may take a moment to free after a restart.
        if (tries >= 20) throw e;
        await sleep(100);
      }
    }
  }

  #spawn(args) {
    return new Promise((resolve, reject) => {
      const proc = spawn(serverBin, args, { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let err = "";
      proc.stderr.on("data", (d) => (err += d));
      proc.on("exit", (code) => reject(new Error(`server exited (${code}): ${err}`)));
      proc.stdout.on("data", (d) => {
        out += d;
        const m = out.match(/listening on http:\/\/(\S+)/);
        if (m) {
          this.proc = proc;
          this.listen = m[1];
          resolve(`http://${m[1]}`);
        }
      });
    });
  }

  get url() {
    return `ws://${this.listen}/ws`;
  }

  /** Stops the process: SIGTERM (graceful, close 1001) or SIGKILL (crash). */
  async stop(signal = "SIGTERM") {
    const proc = this.proc;
    if (!proc) return;
    this.proc = null;
    const exited = new Promise((r) => proc.once("exit", r));
    proc.kill(signal);
    await exited;
  }

  async dispose() {
    await this.stop("SIGKILL");
    rmSync(this.data, { recursive: true, force: true });
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns a truthy value, or fails after `ms`. */
export async function until(check, what, ms = 10_000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}
