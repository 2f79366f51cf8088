// The Parallax dashboard: a client of this server's own API, run in the browser.
//
// Rules kept throughout:
// - The API key lives in sessionStorage only (never localStorage, cookies or URLs) and goes
//   out in the x-api-key header of fetch() calls to this origin.
// - Data from the API is put on the page with textContent and DOM APIs only, never innerHTML;
//   links are made only from http(s) URLs, and open with rel="noopener noreferrer".
// - Event streams are read with fetch() and a ReadableStream (EventSource cannot send the
//   key header); leaving a view aborts its streams and timers.
"use strict";

const KEY_ITEM = "parallax.api_key";
const PROCESSORS = ["lite", "base", "core", "core2x", "pro", "ultra", "ultra2x", "ultra4x", "ultra8x"];
const TERMINAL = new Set(["completed", "failed", "cancelled"]);

// ---------------------------------------------------------------------------------------
// small DOM helpers
// ---------------------------------------------------------------------------------------

/** An element: el("div", {class: "x"}, child, "text", …). Strings become text nodes. */
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** A link to an http(s) URL from the API, opened in a new tab without a referrer; any
 *  other scheme (javascript:, data:, …) is shown as text. */
function externalLink(url, text) {
  let parsed = null;
  try {
    parsed = new URL(url);
  } catch (_) {
    parsed = null;
  }
  if (!parsed || (parsed.protocol !== "http:" && parsed.protocol !== "https:")) {
    return el("span", { class: "url" }, text || String(url));
  }
  return el("a", { href: parsed.href, target: "_blank", rel: "noopener noreferrer", class: "url" }, text || parsed.href);
}

function formatTime(value) {
  if (value === undefined || value === null) return "";
  return String(value).replace("T", " ").replace(/\.\d+Z$/, "Z");
}

function badge(status) {
  return el("span", { class: `badge status-${String(status).replace(/[^a-z_]/g, "")}` }, status);
}

function jsonBlock(value) {
  return el("pre", { class: "json" }, typeof value === "string" ? value : JSON.stringify(value, null, 2));
}

function definitionList(pairs) {
  const dl = el("dl", { class: "facts" });
  for (const [term, value] of pairs) {
    if (value === undefined || value === null || value === "") continue;
    dl.append(el("dt", {}, term), el("dd", {}, value));
  }
  return dl;
}

// ---------------------------------------------------------------------------------------
// the key and the API
// ---------------------------------------------------------------------------------------

function apiKey() {
  return sessionStorage.getItem(KEY_ITEM);
}

/** An error answer of the API: its message, ref_id and HTTP status. */
class ApiError extends Error {
  constructor(status, message, refId, detail) {
    super(message);
    this.status = status;
    this.refId = refId;
    this.detail = detail;
  }
}

/** Raised after a 401: the view stops, the sign-in form is already shown. */
class SignedOut extends Error {}

async function errorFrom(response) {
  let message = `HTTP ${response.status}`;
  let refId = null;
  let detail = null;
  try {
    const body = await response.json();
    if (body && body.error) {
      message = body.error.message || message;
      refId = body.error.ref_id || null;
      detail = body.error.detail || null;
    }
  } catch (_) {
    // not JSON: the status says it
  }
  return new ApiError(response.status, message, refId, detail);
}

/** Calls the API with the key; the parsed JSON body, or an ApiError. A 401 signs out. */
async function api(method, path, body, options) {
  const key = (options && options.key) || apiKey();
  if (!key) {
    showSignIn("Sign in with an API key.");
    throw new SignedOut();
  }
  const headers = { "x-api-key": key, accept: "application/json" };
  const init = { method, headers, cache: "no-store", signal: options && options.signal };
  if (body !== undefined) {
    headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (response.status === 401 && !(options && options.key)) {
    signOut("The server refused the key (401): sign in again.");
    throw new SignedOut();
  }
  if (!response.ok) throw await errorFrom(response);
  return response.json();
}

/**
 * Reads a Server-Sent Events stream of the API with the key, calling onEvent(json, frame)
 * for each frame whose data is JSON. Resolves when the stream ends; rejects with an ApiError
 * (or AbortError when `signal` aborts).
 */
async function streamEvents(path, onEvent, signal) {
  const response = await fetch(path, {
    headers: { "x-api-key": apiKey() || "", accept: "text/event-stream" },
    cache: "no-store",
    signal,
  });
  if (response.status === 401) {
    signOut("The server refused the key (401): sign in again.");
    throw new SignedOut();
  }
  if (!response.ok) throw await errorFrom(response);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let data = [];
  let eventName = null;
  let eventId = null;
  const dispatch = () => {
    if (data.length) {
      const text = data.join("\n");
      let parsed = null;
      try {
        parsed = JSON.parse(text);
      } catch (_) {
        parsed = null;
      }
      if (parsed !== null) onEvent(parsed, { event: eventName, id: eventId });
    }
    data = [];
    eventName = null;
  };
  const line = (text) => {
    if (text === "") return dispatch();
    if (text.startsWith(":")) return undefined;
    const colon = text.indexOf(":");
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? "" : text.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") data.push(value);
    else if (field === "event") eventName = value;
    else if (field === "id") eventId = value;
    return undefined;
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    // Lines end in \r\n, \n or \r; a lone \r at the end may be half of a \r\n.
    let match;
    while ((match = /\r\n|\n|\r(?!$)/.exec(buffer)) !== null) {
      line(buffer.slice(0, match.index));
      buffer = buffer.slice(match.index + match[0].length);
    }
  }
  buffer += decoder.decode();
  if (buffer) line(buffer.replace(/\r$/, ""));
  dispatch();
}

/** A box telling what went wrong: the API's message and ref_id. */
function errorBox(error) {
  if (error instanceof ApiError) {
    const box = el("div", { class: "error", role: "alert" },
      el("strong", {}, `Error ${error.status}: `), error.message);
    if (error.refId) box.append(el("div", { class: "ref" }, "ref_id: ", el("code", {}, error.refId)));
    return box;
  }
  return el("div", { class: "error", role: "alert" }, String((error && error.message) || error));
}

function isQuiet(error) {
  return error instanceof SignedOut || (error && error.name === "AbortError");
}

// ---------------------------------------------------------------------------------------
// sign-in and routing
// ---------------------------------------------------------------------------------------

let viewAbort = new AbortController();

function stopView() {
  viewAbort.abort();
  viewAbort = new AbortController();
}

function showSignIn(message) {
  stopView();
  document.getElementById("nav").hidden = true;
  document.getElementById("view").hidden = true;
  document.getElementById("view").replaceChildren();
  const note = document.getElementById("signin-message");
  note.textContent = message || "";
  note.hidden = !message;
  document.getElementById("signin").hidden = false;
  document.getElementById("signin-key").focus();
}

function signOut(message) {
  sessionStorage.removeItem(KEY_ITEM);
  showSignIn(message);
}

async function signIn(event) {
  event.preventDefault();
  const input = document.getElementById("signin-key");
  const key = input.value.trim();
  if (!key) return;
  const button = event.target.querySelector("button");
  button.disabled = true;
  try {
    await api("GET", "/ui/api/runs?limit=1", undefined, { key });
    sessionStorage.setItem(KEY_ITEM, key);
    input.value = "";
    if (!location.hash || location.hash === "#" || location.hash === "#/") {
      location.hash = "#/runs"; // the hashchange renders it
    } else {
      route();
    }
  } catch (error) {
    const note = document.getElementById("signin-message");
    note.hidden = false;
    note.textContent = error instanceof ApiError && error.status === 401
      ? "That key was refused (401 Unauthorized)."
      : `Could not sign in: ${error.message}${error.refId ? ` (ref_id ${error.refId})` : ""}`;
  } finally {
    button.disabled = false;
  }
}

const ROUTES = [
  [/^#\/runs\/new$/, "new", () => newRunView()],
  [/^#\/runs\/([A-Za-z0-9_-]+)$/, "runs", (m) => runView(m[1])],
  [/^#\/runs$/, "runs", () => runsView()],
  [/^#\/groups\/([A-Za-z0-9_-]+)$/, "groups", (m) => groupView(m[1])],
  [/^#\/groups$/, "groups", () => openByIdView("Task group", "groups", "tgrp_…")],
  [/^#\/monitors$/, "monitors", () => monitorsView()],
  [/^#\/findall\/([A-Za-z0-9_-]+)$/, "findall", (m) => findAllView(m[1])],
  [/^#\/findall$/, "findall", () => openByIdView("FindAll run", "findall", "findall_…")],
  [/^#\/playground$/, "playground", () => playgroundView()],
];

function route() {
  stopView();
  if (!apiKey()) {
    showSignIn();
    return;
  }
  document.getElementById("signin").hidden = true;
  document.getElementById("nav").hidden = false;
  const view = document.getElementById("view");
  view.hidden = false;
  view.replaceChildren();
  const hash = location.hash || "#/runs";
  for (const [pattern, nav, render] of ROUTES) {
    const match = pattern.exec(hash);
    if (match) {
      for (const link of document.querySelectorAll("#nav a")) {
        link.classList.toggle("active", link.dataset.nav === nav);
      }
      render(match).catch((error) => {
        if (!isQuiet(error)) view.append(errorBox(error));
      });
      return;
    }
  }
  location.hash = "#/runs";
}

// ---------------------------------------------------------------------------------------
// runs
// ---------------------------------------------------------------------------------------

async function runsView() {
  const view = document.getElementById("view");
  const signal = viewAbort.signal;
  const body = el("tbody");
  const more = el("button", { type: "button", id: "runs-older", hidden: true }, "Older");
  const status = el("p", { class: "muted" });
  view.append(
    el("div", { class: "title-row" },
      el("h1", {}, "Runs"),
      el("a", { class: "button", href: "#/runs/new" }, "New run")),
    el("table", { class: "list", id: "runs-table" },
      el("thead", {}, el("tr", {}, el("th", {}, "Run"), el("th", {}, "Status"),
        el("th", {}, "Processor"), el("th", {}, "Created"))),
      body),
    status,
    more);
  let cursor = null;
  const load = async () => {
    more.disabled = true;
    const query = cursor ? `?limit=50&before=${encodeURIComponent(cursor)}` : "?limit=50";
    const page = await api("GET", `/ui/api/runs${query}`, undefined, { signal });
    for (const run of page.runs) {
      body.append(el("tr", { "data-run-id": run.run_id },
        el("td", {}, el("a", { href: `#/runs/${run.run_id}` }, el("code", {}, run.run_id))),
        el("td", {}, badge(run.status)),
        el("td", {}, run.processor),
        el("td", {}, formatTime(run.created_at))));
    }
    if (!body.children.length) status.textContent = "No runs yet.";
    cursor = page.next_cursor;
    more.hidden = !cursor;
    more.disabled = false;
  };
  more.addEventListener("click", () => load().catch((error) => {
    if (!isQuiet(error)) view.append(errorBox(error));
  }));
  await load();
}

function newRunView() {
  const view = document.getElementById("view");
  const input = el("textarea", { id: "new-input", rows: 4, required: true,
    placeholder: "A question, or a JSON object" });
  const processor = el("select", { id: "new-processor" },
    PROCESSORS.flatMap((p) => [p, `${p}-fast`]).map((p) => el("option", { value: p, selected: p === "base" }, p)));
  const schema = el("textarea", { id: "new-schema", rows: 8,
    placeholder: '{"type": "object", "properties": {"answer": {"type": "string"}}}' });
  const message = el("div", { id: "new-error" });
  const submit = el("button", { type: "submit" }, "Create run");
  const form = el("form", { id: "new-run-form", class: "stack" },
    el("label", { for: "new-input" }, "Input"),
    input,
    el("p", { class: "hint" }, "Text is sent as it is; a JSON object (starting with {) is sent as an object."),
    el("label", { for: "new-processor" }, "Processor"),
    processor,
    el("label", { for: "new-schema" }, "Output JSON schema (optional)"),
    schema,
    el("p", { class: "hint" }, "A JSON schema of the answer object, or a whole output_schema ({\"type\": \"json\", \"json_schema\": …}). Empty: the processor chooses."),
    message,
    submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    message.replaceChildren();
    const text = input.value.trim();
    let runInput = text;
    if (text.startsWith("{")) {
      try {
        runInput = JSON.parse(text);
      } catch (_) {
        runInput = text;
      }
    }
    const request = { input: runInput, processor: processor.value, enable_events: true };
    const schemaText = schema.value.trim();
    if (schemaText) {
      let parsed;
      try {
        parsed = JSON.parse(schemaText);
      } catch (error) {
        message.append(errorBox(`The output schema is not JSON: ${error.message}`));
        return;
      }
      const outputSchema = parsed && typeof parsed === "object" && "json_schema" in parsed
        ? parsed
        : { type: "json", json_schema: parsed };
      request.task_spec = { output_schema: outputSchema };
    }
    submit.disabled = true;
    try {
      const run = await api("POST", "/v1/tasks/runs", request, { signal: viewAbort.signal });
      location.hash = `#/runs/${run.run_id}`;
    } catch (error) {
      if (!isQuiet(error)) message.append(errorBox(error));
    } finally {
      submit.disabled = false;
    }
  });
  view.append(el("h1", {}, "New run"), form);
  input.focus();
  return Promise.resolve();
}

/** The basis of an output: per field, its citations (link, title, excerpts), reasoning and
 *  confidence, each field in a <details> opened by its summary. */
function basisSection(basis) {
  const section = el("section", { id: "basis" }, el("h2", {}, "Basis"));
  if (!Array.isArray(basis) || !basis.length) {
    section.append(el("p", { class: "muted" }, "No basis."));
    return section;
  }
  for (const field of basis) {
    const citations = Array.isArray(field.citations) ? field.citations : [];
    const details = el("details", { class: "basis-field", "data-field": field.field },
      el("summary", {},
        el("code", {}, field.field),
        field.confidence ? el("span", { class: `confidence confidence-${String(field.confidence).replace(/[^a-z]/g, "")}` }, field.confidence) : null,
        el("span", { class: "muted" }, ` ${citations.length} citation${citations.length === 1 ? "" : "s"}`)));
    if (field.reasoning) details.append(el("p", { class: "reasoning" }, field.reasoning));
    const list = el("ol", { class: "citations" });
    for (const citation of citations) {
      const item = el("li", { class: "citation" },
        el("div", {}, citation.title ? el("span", { class: "citation-title" }, citation.title, " ") : null,
          externalLink(citation.url)));
      const excerpts = Array.isArray(citation.excerpts) ? citation.excerpts : [];
      for (const excerpt of excerpts) item.append(el("blockquote", { class: "excerpt" }, excerpt));
      list.append(item);
    }
    if (citations.length) details.append(list);
    section.append(details);
  }
  return section;
}

function outputSection(output) {
  const section = el("section", { id: "output" }, el("h2", {}, "Output"));
  if (!output) return section;
  if (output.type === "json" && output.content && typeof output.content === "object") {
    const table = el("table", { class: "fields" });
    for (const [name, value] of Object.entries(output.content)) {
      table.append(el("tr", {}, el("th", {}, name),
        el("td", {}, typeof value === "string" ? value : JSON.stringify(value))));
    }
    section.append(table);
  } else {
    section.append(el("div", { class: "text-output" }, String(output.content ?? "")));
  }
  section.append(basisSection(output.basis));
  return section;
}

function warningsList(warnings) {
  if (!Array.isArray(warnings) || !warnings.length) return null;
  return el("section", { id: "warnings" }, el("h2", {}, "Warnings"),
    el("ul", { class: "warnings" }, warnings.map((w) => el("li", {}, (w && w.message) || JSON.stringify(w)))));
}

async function runView(runId) {
  const view = document.getElementById("view");
  const signal = viewAbort.signal;
  const head = el("div", { id: "run-head" });
  const progress = el("section", { id: "progress", hidden: true },
    el("h2", {}, "Progress"),
    el("progress", { id: "progress-meter", max: 100, value: 0 }),
    el("span", { id: "progress-stats", class: "muted" }),
    el("ol", { id: "progress-messages", class: "messages" }));
  const inputSection = el("section", { id: "input" }, el("h2", {}, "Input"));
  const result = el("div", { id: "result" });
  view.append(el("h1", {}, "Run ", el("code", {}, runId)), head, progress, inputSection, result);

  const showRun = (run) => {
    head.replaceChildren(definitionList([
      ["Status", badge(run.status)],
      ["Processor", run.processor],
      ["Created", formatTime(run.created_at)],
      ["Modified", formatTime(run.modified_at)],
      ["Task group", run.taskgroup_id ? el("a", { href: `#/groups/${run.taskgroup_id}` }, run.taskgroup_id) : null],
      ["Metadata", run.metadata ? jsonBlock(run.metadata) : null],
    ]));
    if (run.error) {
      head.append(errorBox(new ApiError(run.status, run.error.message, run.error.ref_id)));
    }
    const warnings = warningsList(run.warnings);
    if (warnings) head.append(warnings);
  };

  let shownResult = false;
  const showResult = async () => {
    if (shownResult) return;
    shownResult = true;
    const answer = await api("GET", `/v1/tasks/runs/${runId}/result?timeout=0`, undefined, { signal });
    showRun(answer.run);
    result.replaceChildren(outputSection(answer.output));
  };

  let run = await api("GET", `/v1/tasks/runs/${runId}`, undefined, { signal });
  showRun(run);
  api("GET", `/v1/tasks/runs/${runId}/input`, undefined, { signal })
    .then((input) => {
      inputSection.append(definitionList([["Processor", input.processor]]), jsonBlock(input.input));
      if (input.task_spec) inputSection.append(el("h3", {}, "Task spec"), jsonBlock(input.task_spec));
    })
    .catch((error) => { if (!isQuiet(error)) inputSection.append(errorBox(error)); });

  if (run.status === "completed") return showResult();
  if (TERMINAL.has(run.status)) return undefined;

  // Live: the run's events until it ends, then its result.
  progress.hidden = false;
  const meter = document.getElementById("progress-meter");
  const stats = document.getElementById("progress-stats");
  const messages = document.getElementById("progress-messages");
  const onEvent = (event) => {
    if (event.type === "task_run.state" && event.run) {
      run = event.run;
      showRun(run);
      if (TERMINAL.has(run.status)) meter.value = 100;
      if (run.status === "completed") showResult().catch(report);
    } else if (event.type === "task_run.progress_stats") {
      if (typeof event.progress_meter === "number") meter.value = event.progress_meter;
      const s = event.source_stats || {};
      stats.textContent = ` ${Math.round(meter.value)}% · sources considered ${s.num_sources_considered ?? 0}, read ${s.num_sources_read ?? 0}`;
    } else if (typeof event.type === "string" && event.type.startsWith("task_run.progress_msg")) {
      messages.append(el("li", {}, el("span", { class: "kind" }, event.type.slice("task_run.progress_msg.".length)), " ", event.message || ""));
    } else if (event.type === "error" && event.error) {
      messages.append(el("li", { class: "error-line" }, event.error.message || "error"));
    }
  };
  const report = (error) => { if (!isQuiet(error)) result.append(errorBox(error)); };
  try {
    await streamEvents(`/v1/tasks/runs/${runId}/events`, onEvent, signal);
  } catch (error) {
    if (isQuiet(error)) return undefined;
    messages.append(el("li", { class: "error-line" }, `The event stream broke (${error.message}); waiting for the result instead.`));
  }
  if (signal.aborted) return undefined;
  // The stream ended (or broke): wait for the end with the result's long poll.
  for (;;) {
    run = await api("GET", `/v1/tasks/runs/${runId}`, undefined, { signal });
    showRun(run);
    if (TERMINAL.has(run.status)) meter.value = 100;
    if (run.status === "completed") return showResult();
    if (TERMINAL.has(run.status)) return undefined;
    try {
      await api("GET", `/v1/tasks/runs/${runId}/result?timeout=30`, undefined, { signal });
    } catch (error) {
      if (isQuiet(error)) return undefined;
      if (!(error instanceof ApiError)) throw error;
      // 408: still running. Anything else (a failed run answers its error here) is read
      // from the run on the next pass, after a pause so a lasting fault does not spin.
      if (error.status !== 408) await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

// ---------------------------------------------------------------------------------------
// task groups, FindAll, monitors
// ---------------------------------------------------------------------------------------

function openByIdView(what, path, placeholder) {
  const view = document.getElementById("view");
  const input = el("input", { id: "open-id", type: "text", placeholder, required: true, spellcheck: "false" });
  const form = el("form", { id: "open-form", class: "inline" },
    el("label", { for: "open-id" }, `${what} id`), input, el("button", { type: "submit" }, "Open"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const id = input.value.trim();
    if (/^[A-Za-z0-9_-]+$/.test(id)) location.hash = `#/${path}/${id}`;
  });
  view.append(el("h1", {}, `${what}s`), el("p", {}, `Open a ${what.toLowerCase()} by its id.`), form);
  input.focus();
  return Promise.resolve();
}

function groupStatusList(status) {
  const counts = status.task_run_status_counts || {};
  return el("div", { id: "group-status" },
    el("p", { id: "group-message" }, status.status_message || ""),
    definitionList([
      ["Runs", String(status.num_task_runs ?? 0)],
      ...Object.entries(counts).map(([name, n]) => [name, String(n)]),
      ["Active", status.is_active ? "yes" : "no"],
      ["Modified", formatTime(status.modified_at)],
    ]));
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function pause(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}

async function groupView(groupId) {
  const view = document.getElementById("view");
  const signal = viewAbort.signal;
  const statusBox = el("div");
  const endings = el("ol", { id: "group-endings", class: "messages" });
  const runs = el("tbody");
  view.append(el("h1", {}, "Task group ", el("code", {}, groupId)), statusBox,
    el("h2", {}, "Runs"),
    el("table", { class: "list", id: "group-runs" },
      el("thead", {}, el("tr", {}, el("th", {}, "Run"), el("th", {}, "Status"), el("th", {}, "Processor"))),
      runs),
    el("h2", {}, "Runs that ended"), endings);
  const group = await api("GET", `/v1/tasks/groups/${groupId}`, undefined, { signal });
  statusBox.replaceChildren(definitionList([
    ["Created", formatTime(group.created_at)],
    ["Metadata", group.metadata ? jsonBlock(group.metadata) : null],
  ]), groupStatusList(group.status));
  const showRun = (r) => {
    const row = el("tr", { "data-run-id": r.run_id },
      el("td", {}, el("a", { href: `#/runs/${r.run_id}` }, el("code", {}, r.run_id))),
      el("td", {}, badge(r.status)), el("td", {}, r.processor));
    const existing = [...runs.children].find((tr) => tr.dataset.runId === r.run_id);
    if (existing) existing.replaceWith(row);
    else runs.append(row);
  };
  await streamEvents(`/v1/tasks/groups/${groupId}/runs`, (event) => {
    if (event.type === "task_run.state" && event.run) showRun(event.run);
  }, signal);
  // The group's log, followed for as long as the view is open: the stream ends whenever the
  // group is idle, so it is opened again (from the last event seen) to catch later adds.
  let lastId = null;
  while (!signal.aborted) {
    const query = lastId ? `?last_event_id=${encodeURIComponent(lastId)}` : "";
    await streamEvents(`/v1/tasks/groups/${groupId}/events${query}`, (event, frame) => {
      if (frame.id) lastId = frame.id;
      if (event.type === "task_group_status" && event.status) {
        statusBox.lastChild.replaceWith(groupStatusList(event.status));
      } else if (event.type === "task_run.state" && event.run) {
        showRun(event.run);
        endings.append(el("li", {}, el("a", { href: `#/runs/${event.run.run_id}` }, event.run.run_id), " ", badge(event.run.status)));
      }
    }, signal);
    await pause(1000, signal);
  }
}

async function monitorsView() {
  const view = document.getElementById("view");
  const signal = viewAbort.signal;
  const body = el("tbody");
  const more = el("button", { type: "button", hidden: true }, "More");
  const empty = el("p", { class: "muted" });
  view.append(el("h1", {}, "Monitors"),
    el("table", { class: "list", id: "monitors-table" },
      el("thead", {}, el("tr", {}, ["Monitor", "Type", "Status", "Frequency", "Processor", "Query", "Created", "Last run"].map((h) => el("th", {}, h)))),
      body),
    empty, more);
  let cursor = null;
  const load = async () => {
    const query = `?status=active&status=cancelled&limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    const page = await api("GET", `/v1/monitors${query}`, undefined, { signal });
    for (const m of page.monitors) {
      const settings = m.settings || {};
      body.append(el("tr", {},
        el("td", {}, el("code", {}, m.monitor_id)), el("td", {}, m.type), el("td", {}, badge(m.status)),
        el("td", {}, m.frequency), el("td", {}, m.processor),
        el("td", {}, settings.query || settings.task_run_id || ""),
        el("td", {}, formatTime(m.created_at)), el("td", {}, formatTime(m.last_run_at))));
    }
    if (!body.children.length) empty.textContent = "No monitors.";
    cursor = page.next_cursor;
    more.hidden = !cursor;
  };
  more.addEventListener("click", () => load().catch((error) => {
    if (!isQuiet(error)) view.append(errorBox(error));
  }));
  await load();
}

async function findAllView(findallId) {
  const view = document.getElementById("view");
  const signal = viewAbort.signal;
  const head = el("div");
  const body = el("tbody");
  view.append(el("h1", {}, "FindAll run ", el("code", {}, findallId)), head,
    el("h2", {}, "Candidates"),
    el("table", { class: "list", id: "candidates" },
      el("thead", {}, el("tr", {}, ["Name", "URL", "Match", "Description"].map((h) => el("th", {}, h)))),
      body));
  for (;;) {
    const result = await api("GET", `/v1beta/findall/runs/${findallId}/result`, undefined, { signal });
    const run = result.run;
    const status = run.status || {};
    const metrics = status.metrics || {};
    head.replaceChildren(definitionList([
      ["Status", badge(status.status)],
      ["Generator", run.generator],
      ["Candidates generated", String(metrics.generated_candidates_count ?? 0)],
      ["Candidates matched", String(metrics.matched_candidates_count ?? 0)],
      ["Ended because", status.termination_reason],
      ["Created", formatTime(run.created_at)],
    ]));
    body.replaceChildren(...(result.candidates || []).map((c) => el("tr", {},
      el("td", {}, c.name), el("td", {}, externalLink(c.url)), el("td", {}, badge(c.match_status)),
      el("td", {}, c.description || ""))));
    if (!status.is_active) return;
    await pause(2000, signal);
    if (signal.aborted) return;
  }
}

// ---------------------------------------------------------------------------------------
// search and extract
// ---------------------------------------------------------------------------------------

function lines(text) {
  return text.split("\n").map((l) => l.trim()).filter(Boolean);
}

function webResults(results, withFullContent) {
  const list = el("ol", { class: "web-results" });
  for (const r of results || []) {
    const item = el("li", { class: "web-result" },
      el("div", {}, r.title ? el("strong", {}, r.title, " ") : null, externalLink(r.url)),
      r.publish_date ? el("div", { class: "muted" }, r.publish_date) : null);
    for (const excerpt of r.excerpts || []) item.append(el("blockquote", { class: "excerpt" }, excerpt));
    if (withFullContent && r.full_content) {
      item.append(el("details", {}, el("summary", {}, "Full content"), el("pre", { class: "full-content" }, r.full_content)));
    }
    list.append(item);
  }
  return list;
}

function playgroundView() {
  const view = document.getElementById("view");
  const signal = viewAbort.signal;

  const objective = el("input", { id: "search-objective", type: "text", placeholder: "What you want to find" });
  const queries = el("textarea", { id: "search-queries", rows: 3, placeholder: "keyword queries, one per line (optional)" });
  const searchOut = el("div", { id: "search-results" });
  const searchForm = el("form", { id: "search-form", class: "stack" },
    el("label", { for: "search-objective" }, "Objective"), objective,
    el("label", { for: "search-queries" }, "Search queries"), queries,
    el("button", { type: "submit" }, "Search"));
  searchForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    searchOut.replaceChildren(el("p", { class: "muted" }, "Searching…"));
    const request = {};
    if (objective.value.trim()) request.objective = objective.value.trim();
    const q = lines(queries.value);
    if (q.length) request.search_queries = q;
    try {
      const answer = await api("POST", "/v1beta/search", request, { signal });
      searchOut.replaceChildren(
        el("p", { class: "muted" }, `${(answer.results || []).length} result(s)`),
        webResults(answer.results, false));
      const warnings = warningsList(answer.warnings);
      if (warnings) searchOut.append(warnings);
    } catch (error) {
      if (!isQuiet(error)) searchOut.replaceChildren(errorBox(error));
    }
  });

  const urls = el("textarea", { id: "extract-urls", rows: 3, placeholder: "https://…, one per line" });
  const extractObjective = el("input", { id: "extract-objective", type: "text", placeholder: "What the excerpts should be about (optional)" });
  const full = el("input", { id: "extract-full", type: "checkbox" });
  const extractOut = el("div", { id: "extract-results" });
  const extractForm = el("form", { id: "extract-form", class: "stack" },
    el("label", { for: "extract-urls" }, "URLs"), urls,
    el("label", { for: "extract-objective" }, "Objective"), extractObjective,
    el("label", { class: "check" }, full, " full content"),
    el("button", { type: "submit" }, "Extract"));
  extractForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    extractOut.replaceChildren(el("p", { class: "muted" }, "Extracting…"));
    const request = { urls: lines(urls.value), excerpts: true, full_content: full.checked };
    if (extractObjective.value.trim()) request.objective = extractObjective.value.trim();
    try {
      const answer = await api("POST", "/v1/extract", request, { signal });
      extractOut.replaceChildren(webResults(answer.results, true));
      const errors = answer.errors || [];
      if (errors.length) {
        extractOut.append(el("h3", {}, "Not extracted"), el("ul", { class: "warnings" }, errors.map((e) =>
          el("li", {}, externalLink(e.url), ` ${e.error_type || "error"}${e.http_status_code ? ` (HTTP ${e.http_status_code})` : ""}`))));
      }
      const warnings = warningsList(answer.warnings);
      if (warnings) extractOut.append(warnings);
    } catch (error) {
      if (!isQuiet(error)) extractOut.replaceChildren(errorBox(error));
    }
  });

  view.append(el("h1", {}, "Search & Extract"),
    el("div", { class: "columns" },
      el("section", {}, el("h2", {}, "Search"), searchForm, searchOut),
      el("section", {}, el("h2", {}, "Extract"), extractForm, extractOut)));
  return Promise.resolve();
}

// ---------------------------------------------------------------------------------------
// start
// ---------------------------------------------------------------------------------------

document.getElementById("signin-form").addEventListener("submit", signIn);
document.getElementById("sign-out").addEventListener("click", () => signOut("Signed out."));
window.addEventListener("hashchange", route);
route();
