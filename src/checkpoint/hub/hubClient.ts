// The parameters every @huggingface/hub call takes, with a fetch that remembers what the last
// response said: the library's errors keep the status but drop the headers, and its blob streams
// hide whether a Range request was honoured.
import { hubEndpoint, hubToken } from "./hubSettings.js";

export interface LastResponse {
  status: number;
  /** The Hub's X-Error-Code (RepoNotFound, RevisionNotFound, EntryNotFound, GatedRepo; see huggingface_hub's hf_raise_for_status), if any. */
  errorCode: string | null;
}

export interface HubClient {
  hubUrl: string;
  accessToken: string | undefined;
  fetch: typeof fetch;
  last: LastResponse;
}

export function hubClient(): HubClient {
  const last: LastResponse = { status: 0, errorCode: null };
  const recording: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    last.status = res.status;
    last.errorCode = res.headers.get("x-error-code");
    return res;
  };
  return { hubUrl: hubEndpoint(), accessToken: hubToken(), fetch: recording, last };
}
