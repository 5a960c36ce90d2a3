// The Hub's and the network's failures as one line each that says what to do about it.
import { HubApiError, InvalidApiResponseFormatError } from "@huggingface/hub";
import { HubError } from "../../errors.js";
import type { HubClient } from "./hubClient.js";
import { tokenFile } from "./hubSettings.js";

export const OFFLINE_HINT = "set HF_HUB_OFFLINE=1 (or pass --offline) to use only the local cache";

export const megabytes = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;

function accessRefused(repo: string, client: HubClient, status: number): HubError {
  const token = client.accessToken ? "the token was refused" : "no token was sent";
  return new HubError(
    repo,
    "access",
    `access refused (HTTP ${status}, ${token}): the model is gated or private (or does not exist); ` +
      `accept its licence on ${client.hubUrl}/${repo}, then set HF_TOKEN or run \`huggingface-cli login\` ` +
      `(token file: ${tokenFile()})`,
  );
}

/** A fetch failure (DNS, refused connection, reset): undici's TypeError with the system error as cause. */
function networkCause(e: unknown): string | undefined {
  if (!(e instanceof TypeError) || e.message !== "fetch failed") return undefined;
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? "fetch failed";
}

export function unreachable(repo: string, client: HubClient, why: string): HubError {
  return new HubError(
    repo,
    "network",
    `cannot reach ${client.hubUrl} (${why}); check the connection, or ${OFFLINE_HINT}`,
  );
}

/** `e` as a HubError naming `repo` when it is a Hub or network failure; anything else is returned as it is. */
export function hubFailure(repo: string, revision: string, client: HubClient, e: unknown): unknown {
  if (e instanceof HubError) return e;
  if (e instanceof HubApiError) {
    // The Hub's X-Error-Code first, as huggingface_hub's hf_raise_for_status reads it: a missing repo
    // is HTTP 401 RepoNotFound when no token is sent (it might be private), 404 otherwise.
    const code = client.last.errorCode;
    if (code === "RevisionNotFound")
      return new HubError(repo, "revision-not-found", `revision ${revision} not found on ${client.hubUrl}`);
    if (code === "RepoNotFound" || (e.statusCode === 404 && code !== "GatedRepo"))
      return new HubError(
        repo,
        "not-found",
        `not found on ${client.hubUrl} (HTTP ${e.statusCode}): check the name` +
          (client.accessToken ? "" : " (or, if it is private, set HF_TOKEN)"),
      );
    if (e.statusCode === 401 || e.statusCode === 403) return accessRefused(repo, client, e.statusCode);
    return new HubError(
      repo,
      "protocol",
      `${client.hubUrl} answered HTTP ${e.statusCode}: ${e.message.split("\n")[0]}`,
    );
  }
  if (e instanceof InvalidApiResponseFormatError)
    return new HubError(repo, "protocol", `unexpected answer from ${client.hubUrl}: ${e.message}`);
  const cause = networkCause(e);
  if (cause !== undefined) return unreachable(repo, client, cause);
  if (e instanceof TypeError && /access token must start with/.test(e.message))
    return new HubError(
      repo,
      "access",
      `the token does not start with hf_ (from HF_TOKEN or ${tokenFile()})`,
    );
  return e;
}
