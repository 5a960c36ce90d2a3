// A worker thread of the low-rank pool: runs addLowRank on the elements it is sent, in buffers it
// shares with the main thread, and answers with the job's id (and the error, if one was thrown).
import { parentPort } from "node:worker_threads";
import { addLowRank } from "./lowRank.js";
import type { LowRankJob, LowRankReply } from "./lowRankPool.js";

const port = parentPort;
if (!port) throw new Error("lowRankWorker.js runs as a worker thread of lowRankPool.js");
let row = new Float64Array(0);
port.on("message", (job: LowRankJob) => {
  let reply: LowRankReply;
  try {
    if (row.length < job.cols) row = new Float64Array(job.cols);
    addLowRank(job, job.start, job.w, row);
    reply = { id: job.id };
  } catch (e) {
    reply = { id: job.id, error: e instanceof Error ? (e.stack ?? e.message) : String(e) };
  }
  port.postMessage(reply);
});
