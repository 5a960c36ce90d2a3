import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import {
  hubCacheDir,
  hubEndpoint,
  hubToken,
  isOffline,
  tokenFile,
} from "../../../src/checkpoint/hub/hubSettings.js";
import { tempDir } from "../../helpers.js";
import { freshHubEnv } from "./hubEnv.js";

const root = tempDir();

test("the cache folder: HF_HUB_CACHE, else HF_HOME/hub, else XDG_CACHE_HOME/huggingface/hub, else ~/.cache", () => {
  const home = freshHubEnv(root);
  assert.equal(hubCacheDir(), join(home, "hub"));
  process.env.HF_HUB_CACHE = "/x/cache";
  assert.equal(hubCacheDir(), "/x/cache");
  delete process.env.HF_HUB_CACHE;
  delete process.env.HF_HOME;
  process.env.XDG_CACHE_HOME = "/xdg";
  assert.equal(hubCacheDir(), "/xdg/huggingface/hub");
  assert.equal(tokenFile(), "/xdg/huggingface/token");
  delete process.env.XDG_CACHE_HOME;
  assert.equal(hubCacheDir(), join(homedir(), ".cache", "huggingface", "hub"));
});

test("the token: HF_TOKEN, else HF_TOKEN_PATH's file, else HF_HOME/token; blank is none", () => {
  const home = freshHubEnv(root);
  assert.equal(hubToken(), undefined);
  writeFileSync(join(home, "token"), "hf_fromhome\n");
  assert.equal(hubToken(), "hf_fromhome");
  const other = join(root, "tok");
  writeFileSync(other, "  hf_frompath  ");
  process.env.HF_TOKEN_PATH = other;
  assert.equal(hubToken(), "hf_frompath");
  process.env.HF_TOKEN = "hf_fromenv";
  assert.equal(hubToken(), "hf_fromenv");
  process.env.HF_TOKEN = " ";
  assert.equal(hubToken(), "hf_frompath");
  writeFileSync(other, "\n");
  assert.equal(hubToken(), undefined);
});

test("the endpoint and offline switch", () => {
  freshHubEnv(root);
  assert.equal(hubEndpoint(), "https://huggingface.co");
  process.env.HF_ENDPOINT = "https://mirror.example/";
  assert.equal(hubEndpoint(), "https://mirror.example");
  for (const v of ["1", "true", "YES", "On"]) {
    process.env.HF_HUB_OFFLINE = v;
    assert.equal(isOffline(), true, v);
  }
  for (const v of ["", "0", "false", "no", "off"]) {
    process.env.HF_HUB_OFFLINE = v;
    assert.equal(isOffline(), false, v);
  }
});

test("legacy names as huggingface_hub reads them: HUGGINGFACE_HUB_CACHE, HUGGING_FACE_HUB_TOKEN, TRANSFORMERS_OFFLINE", () => {
  const home = freshHubEnv(root);
  process.env.HUGGINGFACE_HUB_CACHE = "/legacy/cache";
  assert.equal(hubCacheDir(), "/legacy/cache");
  process.env.HF_HUB_CACHE = "/new/cache";
  assert.equal(hubCacheDir(), "/new/cache", "HF_HUB_CACHE first");

  writeFileSync(join(home, "token"), "hf_fromfile");
  process.env.HUGGING_FACE_HUB_TOKEN = "hf_legacy";
  assert.equal(hubToken(), "hf_legacy");
  process.env.HF_TOKEN = "hf_new";
  assert.equal(hubToken(), "hf_new", "HF_TOKEN first");

  process.env.TRANSFORMERS_OFFLINE = "1";
  assert.equal(isOffline(), true);
  process.env.HF_HUB_OFFLINE = "0";
  assert.equal(isOffline(), false, "a set HF_HUB_OFFLINE decides, as in huggingface_hub's constants");
  process.env.HF_HUB_OFFLINE = "";
  assert.equal(isOffline(), true);
});

test("HF_HUB_DISABLE_IMPLICIT_TOKEN sends no token (deepen passes none explicitly); a leading ~ is the home folder", () => {
  const home = freshHubEnv(root);
  writeFileSync(join(home, "token"), "hf_fromfile");
  process.env.HF_HUB_DISABLE_IMPLICIT_TOKEN = "1";
  assert.equal(hubToken(), undefined);
  process.env.HF_TOKEN = "hf_fromenv";
  assert.equal(hubToken(), undefined, "HF_TOKEN is implicit too, as huggingface_hub reads it");
  process.env.HF_HUB_DISABLE_IMPLICIT_TOKEN = "false";
  delete process.env.HF_TOKEN;
  assert.equal(hubToken(), "hf_fromfile");

  process.env.HF_HOME = "~/hf";
  assert.equal(hubCacheDir(), join(homedir(), "hf", "hub"));
  assert.equal(tokenFile(), join(homedir(), "hf", "token"));
  process.env.HF_HUB_CACHE = "~";
  assert.equal(hubCacheDir(), homedir());
  process.env.HF_TOKEN_PATH = "~/tok";
  assert.equal(tokenFile(), join(homedir(), "tok"));
  process.env.HF_TOKEN_PATH = "~other/tok";
  assert.equal(tokenFile(), "~other/tok", "only the user's own home is expanded");
});
