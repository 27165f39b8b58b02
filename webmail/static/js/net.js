// Requests that survive a flaky network, shared by the page and the download workers: a fetch
// retried on network failures, 429 and 5xx with back-off, any other refusal an ApiError at once;
// an aborted signal is a Cancelled.
import { ApiError } from "./api.js";

/** Attempts per chunk request when the network (or a 5xx) fails it. */
export const ATTEMPTS = 4;

export class Cancelled extends Error {}

const sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(new Cancelled());
    });
  });

/**
 * A fetch retried on network failure, 429 and 5xx (ATTEMPTS times, backing off); any other
 * refusal is an ApiError at once.
 * @param {string} path
 * @param {RequestInit} init
 * @returns {Promise<Response>}
 */
export async function retried(path, init) {
  for (let attempt = 1; ; attempt++) {
    let response = null;
    try {
      response = await fetch(path, { credentials: "same-origin", cache: "no-store", ...init });
    } catch (error) {
      if (init.signal?.aborted) {
        throw new Cancelled();
      }
      if (attempt >= ATTEMPTS) {
        throw new ApiError(0, "network", String(error?.message ?? ""), null);
      }
    }
    if (response !== null) {
      if (response.ok) {
        return response;
      }
      const retry = response.status === 429 || response.status >= 500;
      if (!retry || attempt >= ATTEMPTS) {
        const error = (await response.json().catch(() => null))?.error ?? {};
        throw new ApiError(response.status, error.code ?? "unknown", error.message ?? "", error.field ?? null);
      }
    }
    await sleep(400 * 2 ** (attempt - 1), init.signal);
  }
}
