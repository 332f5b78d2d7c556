// The fnplane dashboard: lists, creates, edits and deletes functions through the REST API
// served on the same origin (/auth/token and /v1/functions), with no build step.

const REFRESH_MS = 3000;
const TOKEN_KEY = "fnplane.token";
const NAMESPACE_KEY = "fnplane.namespace";

// The server's field rules, repeated here so most mistakes are caught before a request is
// sent. The server checks them again and stays the authority: its answers are shown too.
const NAME_MAX = 63;
const IMAGE_MAX = 512;
const REPLICAS_MAX = 100;
const ENV_MAX_ENTRIES = 100;
const ENV_VALUE_MAX_BYTES = 32 * 1024;
const DNS_1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const C_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const IMAGE_REFERENCE = (() => {
  const hostPart = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
  const host = `(?:${hostPart}(?:\\.${hostPart})*|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?`;
  const pathPart = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
  const tag = "[\\w][\\w.-]{0,127}";
  const digest = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";
  return new RegExp(
    `^(?:${host}/)?${pathPart}(?:/${pathPart})*(?::${tag})?(?:@${digest})?$`,
  );
})();

const $ = (selector, root = document) => root.querySelector(selector);

// ---------------------------------------------------------------------------------------
// Talking to fnplane

class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || (status ? `fnplane answered HTTP ${status}` : "no answer"));
    this.status = status;
    this.violations = violationsOf(body);
  }
}

function violationsOf(body) {
  const found = [];
  for (const detail of Array.isArray(body?.details) ? body.details : []) {
    const list = detail?.fieldViolations ?? detail?.field_violations ?? [];
    for (const violation of list) {
      found.push({ field: violation.field ?? "", description: violation.description ?? "" });
    }
  }
  return found;
}

async function send(method, path, { body, token } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, { message: "fnplane cannot be reached" });
  }
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = { message: text.trim() };
  }
  return { status: response.status, ok: response.ok, body: parsed };
}

const session = {
  token: sessionStorage.getItem(TOKEN_KEY),
  pending: null,
};

function remember(answer) {
  session.token = answer.token;
  sessionStorage.setItem(TOKEN_KEY, answer.token);
  if (answer.namespace) sessionStorage.setItem(NAMESPACE_KEY, answer.namespace);
  showNamespace();
  return answer.token;
}

function forgetToken() {
  session.token = null;
  sessionStorage.removeItem(TOKEN_KEY);
}

// Answers a token, asking fnplane for one (and the user for an API key when fnplane has
// keys configured) only when there is none; concurrent callers share one request.
function currentToken() {
  if (session.token) return Promise.resolve(session.token);
  session.pending ??= issueToken().finally(() => {
    session.pending = null;
  });
  return session.pending;
}

async function issueToken() {
  const answer = await send("POST", "/auth/token", { body: {} });
  if (answer.ok && answer.body?.token) return remember(answer.body);
  if (answer.status === 401 || answer.status === 403) return signIn();
  throw new ApiError(answer.status, answer.body);
}

async function api(method, path, body) {
  for (let attempt = 0; ; attempt += 1) {
    const token = await currentToken();
    const answer = await send(method, path, { body, token });
    if (answer.status === 401 && attempt === 0) {
      // The token expired or the server restarted with new keys: get a fresh one once.
      forgetToken();
      continue;
    }
    if (!answer.ok) throw new ApiError(answer.status, answer.body);
    return answer.body;
  }
}

// ---------------------------------------------------------------------------------------
// The list of functions

const rowsBody = $("#rows");
const rowTemplate = $("#row-template");
const rows = new Map();
let loaded = false;
let refreshTimer = 0;
let refreshing = null;
let refreshAgain = false;

function refresh() {
  if (refreshing) {
    refreshAgain = true;
    return refreshing;
  }
  clearTimeout(refreshTimer);
  refreshing = loadFunctions().finally(() => {
    refreshing = null;
    if (refreshAgain) {
      refreshAgain = false;
      refresh();
    } else if (!live.watching) {
      refreshTimer = setTimeout(refreshWhenVisible, REFRESH_MS);
    }
  });
  return refreshing;
}

function refreshWhenVisible() {
  if (live.watching) return;
  if (document.hidden) {
    refreshTimer = setTimeout(refreshWhenVisible, REFRESH_MS);
  } else {
    refresh();
  }
}

// ---------------------------------------------------------------------------------------
// Live updates: the watch stream (GET /v1/functions:watch, one JSON event per line) keeps
// the list current. When it cannot be opened or breaks, the page falls back to polling and
// tries the stream again after a growing pause.

const WATCH_RETRY_MS = [2000, 5000, 15000, 30000];
// How long a refresh waits for the stream to tell of a change the page has just made.
const CHANGE_WAIT_MS = 1500;
const live = {
  watching: false,
  failures: 0,
  functions: new Map(),
  waiters: [],
};

function nextChange() {
  return new Promise((resolve) => {
    live.waiters.push(resolve);
    setTimeout(resolve, CHANGE_WAIT_MS);
  });
}

async function watchFunctions() {
  let synced = false;
  try {
    const response = await openWatch();
    live.failures = 0;
    const lines = readLines(response.body);
    for await (const line of lines) {
      const event = JSON.parse(line);
      if (event.type === "SYNCED") {
        synced = true;
        startWatching();
      } else if (event.type === "DELETED") {
        live.functions.delete(event.function.name);
      } else if (event.function) {
        live.functions.set(event.function.name, event.function);
      }
      if (synced) {
        render([...live.functions.values()]);
        for (const resolve of live.waiters.splice(0)) resolve();
      }
    }
  } catch {
    // Any failure (no answer, a refusal, a broken stream, a line that is not JSON) ends
    // the watch the same way: polling takes over below.
  }
  stopWatching();
  live.failures += 1;
  const pause = WATCH_RETRY_MS[Math.min(live.failures, WATCH_RETRY_MS.length) - 1];
  setTimeout(watchFunctions, pause);
}

async function openWatch() {
  for (let attempt = 0; ; attempt += 1) {
    const token = await currentToken();
    const response = await fetch("/v1/functions:watch", {
      headers: { Accept: "application/x-ndjson", Authorization: `Bearer ${token}` },
      cache: "no-store",
    });
    if (response.status === 401 && attempt === 0) {
      forgetToken();
      continue;
    }
    if (!response.ok || !response.body) throw new ApiError(response.status, null);
    live.functions.clear();
    return response;
  }
}

async function* readLines(body) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffered += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, end).trim();
      buffered = buffered.slice(end + 1);
      if (line) yield line;
    }
  }
}

function startWatching() {
  live.watching = true;
  clearTimeout(refreshTimer);
  document.body.dataset.live = "watching";
  showConnection(null);
}

function stopWatching() {
  const wasWatching = live.watching;
  live.watching = false;
  document.body.dataset.live = "polling";
  for (const resolve of live.waiters.splice(0)) resolve();
  if (wasWatching || !refreshing) refresh();
}

async function loadFunctions() {
  // While the watch stream is live it is the newer source: a list asked for now could
  // answer after a later event and undo it, so the page waits for the stream instead.
  if (live.watching) return nextChange();
  try {
    const functions = await api("GET", "/v1/functions");
    if (live.watching) return;
    render(Array.isArray(functions) ? functions : functions?.functions ?? []);
    showConnection(null);
  } catch (error) {
    showConnection(error);
  }
}

function render(functions) {
  const sorted = [...functions].sort((a, b) => a.name.localeCompare(b.name));
  const seen = new Set();
  let previous = null;
  for (const fn of sorted) {
    let entry = rows.get(fn.name);
    if (!entry) {
      entry = makeRow(fn.name);
      rows.set(fn.name, entry);
    }
    fillRow(entry, fn);
    // Rows are moved only when out of place, so focus and selection inside them survive.
    const wanted = previous ? previous.nextElementSibling : rowsBody.firstElementChild;
    if (wanted !== entry.row) rowsBody.insertBefore(entry.row, wanted);
    previous = entry.row;
    seen.add(fn.name);
  }
  for (const [name, entry] of rows) {
    if (!seen.has(name)) {
      entry.row.remove();
      rows.delete(name);
    }
  }

  loaded = true;
  setText($("#count"), rows.size ? String(rows.size) : "");
  $("#loading").hidden = true;
  $("#empty").hidden = rows.size > 0;
  $("#table-wrap").hidden = rows.size === 0;
}

function makeRow(name) {
  const row = rowTemplate.content.firstElementChild.cloneNode(true);
  row.dataset.function = name;
  const entry = {
    row,
    function: null,
    name: $(".name-text", row),
    image: $(".image-text", row),
    replicas: $(".replicas-text", row),
    badge: $(".badge", row),
    badgeText: $(".badge-text", row),
    message: $(".status-message", row),
    created: $("time", row),
  };
  entry.name.textContent = name;
  const edit = $('[data-action="edit"]', row);
  const remove = $('[data-action="delete"]', row);
  edit.setAttribute("aria-label", `Edit ${name}`);
  remove.setAttribute("aria-label", `Delete ${name}`);
  const logs = $('[data-action="logs"]', row);
  logs.setAttribute("aria-label", `Logs of ${name}`);
  logs.addEventListener("click", () => openLogs(entry.function, logs));
  edit.addEventListener("click", () => openEdit(entry.function, edit));
  remove.addEventListener("click", () => openDelete(entry.function, remove));
  return entry;
}

// Each setter writes only when the value changed, so a refresh leaves an unchanged row alone.
function setText(element, text) {
  if (element.textContent !== text) element.textContent = text;
}

function setAttribute(element, name, value) {
  if (element.getAttribute(name) !== value) element.setAttribute(name, value);
}

function fillRow(entry, fn) {
  entry.function = fn;
  const desired = fn.replicas ?? 0;
  const ready = fn.ready_replicas ?? 0;
  const status = fn.status || "Deploying";
  setText(entry.image, fn.image ?? "");
  setAttribute(entry.image, "title", fn.image ?? "");
  setText(entry.replicas, `${ready}/${desired}`);
  setAttribute(entry.replicas, "title", `${ready} of ${desired} replicas ready`);
  setAttribute(entry.badge, "class", `badge status-${status.toLowerCase()}`);
  setText(entry.badgeText, status);
  setText(entry.message, fn.status_message ?? "");
  setAttribute(entry.message, "class", `status-message${status === "Failed" ? " failed" : ""}`);

  const created = fn.created_at ? new Date(fn.created_at) : null;
  if (created && !Number.isNaN(created.valueOf())) {
    setAttribute(entry.created, "datetime", fn.created_at);
    setAttribute(entry.created, "title", exactTime(created));
    setText(entry.created, relativeTime(created));
  } else {
    setText(entry.created, "—");
  }
}

const relative = new Intl.RelativeTimeFormat("en", { numeric: "always" });
const RELATIVE_STEPS = [
  ["year", 365 * 24 * 3600],
  ["month", 30 * 24 * 3600],
  ["week", 7 * 24 * 3600],
  ["day", 24 * 3600],
  ["hour", 3600],
  ["minute", 60],
];

function relativeTime(date) {
  const seconds = (date.valueOf() - Date.now()) / 1000;
  if (Math.abs(seconds) < 45) return "just now";
  for (const [unit, size] of RELATIVE_STEPS) {
    if (Math.abs(seconds) >= size) return relative.format(Math.round(seconds / size), unit);
  }
  return relative.format(Math.round(seconds / 60), "minute");
}

function exactTime(date) {
  return date.toLocaleString(undefined, {
    dateStyle: "medium",
    timeStyle: "long",
  });
}

function showConnection(error) {
  const sync = $("#sync");
  const banner = $("#banner");
  if (!error) {
    sync.dataset.state = "live";
    setText(sync, "Live");
    banner.hidden = true;
    return;
  }
  sync.dataset.state = "trouble";
  setText(sync, "Reconnecting…");
  const what = loaded ? "The list may be out of date" : "The functions could not be loaded";
  setText(banner, `${what}: ${error.message}. Trying again every few seconds.`);
  banner.hidden = false;
  if (!loaded) $("#loading").hidden = true;
}

function showNamespace() {
  const namespace = sessionStorage.getItem(NAMESPACE_KEY);
  const element = $("#namespace");
  if (!namespace) return;
  element.textContent = namespace;
  element.title = `Namespace ${namespace}`;
  element.hidden = false;
}

// ---------------------------------------------------------------------------------------
// Dialogs and their forms

const toasts = $("#toasts");

function toast(text) {
  const item = document.createElement("p");
  item.className = "toast";
  item.textContent = text;
  toasts.append(item);
  setTimeout(() => item.remove(), 4000);
}

function openDialog(dialog, opener) {
  dialog.returnFocusTo = opener ?? document.activeElement;
  clearErrors(dialog);
  dialog.showModal();
  const first = $("[autofocus]", dialog);
  first?.focus();
  if (first?.select && first.type !== "number") first.select();
}

function closeDialog(dialog) {
  dialog.close();
}

for (const dialog of document.querySelectorAll("dialog")) {
  dialog.addEventListener("close", () => {
    const target = dialog.returnFocusTo;
    dialog.returnFocusTo = null;
    if (target?.isConnected) target.focus();
    else $("#create-open").focus();
  });
  for (const button of dialog.querySelectorAll("[data-close]")) {
    button.addEventListener("click", () => closeDialog(dialog));
  }
}

function clearErrors(root) {
  for (const element of root.querySelectorAll("[data-error-for], .env-error")) {
    element.hidden = true;
    element.textContent = "";
  }
  for (const input of root.querySelectorAll("[aria-invalid]")) {
    input.removeAttribute("aria-invalid");
  }
}

// Shows `message` at `place` (an error paragraph) and marks the inputs it concerns invalid.
function showError(place, message, inputs) {
  place.textContent = place.textContent ? `${place.textContent} ${message}` : message;
  place.hidden = false;
  for (const input of inputs) input.setAttribute("aria-invalid", "true");
}

// Puts each problem next to its field; answers the first input to move focus to.
function showProblems(form, problems) {
  let first = null;
  for (const { field, description } of problems) {
    const target = placeFor(form, field);
    if (target) {
      showError(target.place, sentence(description), target.inputs);
      first ??= target.inputs[0] ?? null;
    } else {
      const general = $('.form-error[data-error-for=""]', form);
      showError(general, sentence(field ? `${field}: ${description}` : description), []);
    }
  }
  return first;
}

function sentence(text) {
  const trimmed = text.trim();
  if (!trimmed) return trimmed;
  const capital = trimmed[0].toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

function placeFor(form, field) {
  const envKey = /^env\[(['"])(.*)\1\]$/.exec(field);
  if (envKey) {
    const row = [...form.querySelectorAll(".env-row")].find(
      (candidate) => $(".env-key", candidate).value.trim() === envKey[2],
    );
    if (row) return { place: $(".env-error", row), inputs: [$(".env-key", row)] };
    field = "env";
  }
  const place = field ? $(`[data-error-for="${CSS.escape(field)}"]`, form) : null;
  if (!place) return null;
  const input = form.elements.namedItem(field);
  if (input instanceof HTMLElement && input.tagName === "INPUT") {
    return { place, inputs: [input] };
  }
  const fallback = $(".env-key", form) ?? $("#create-env-add");
  return { place, inputs: fallback ? [fallback] : [] };
}

// Turns an API error into problems next to fields; a duplicate name belongs to the name.
function problemsOf(error) {
  if (error.violations.length) return error.violations;
  if (error.status === 409) return [{ field: "name", description: error.message }];
  return [{ field: "", description: error.message }];
}

async function submitting(form, label, work) {
  const button = $('button[type="submit"]', form);
  const idle = button.textContent;
  button.disabled = true;
  button.textContent = label;
  form.setAttribute("aria-busy", "true");
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.textContent = idle;
    form.removeAttribute("aria-busy");
  }
}

function checkName(name) {
  if (!name) return "is required";
  if (name.length > NAME_MAX) {
    return `must be at most ${NAME_MAX} characters, got ${name.length}`;
  }
  if (!DNS_1035.test(name)) {
    return (
      "must be a DNS-1035 label: lowercase letters, digits and '-', starting with a " +
      "letter and ending with a letter or digit"
    );
  }
  return null;
}

function checkImage(image) {
  if (!image) return "is required";
  if (image.length > IMAGE_MAX) {
    return `must be at most ${IMAGE_MAX} characters, got ${image.length}`;
  }
  if (/\s/.test(image)) return "must not contain whitespace";
  if (!IMAGE_REFERENCE.test(image)) {
    return (
      "must be an OCI image reference such as 'registry/repo:tag' or " +
      "'repo@sha256:<hex>' (repository path in lowercase)"
    );
  }
  return null;
}

function readReplicas(input) {
  const text = input.value.trim();
  if (input.validity.badInput || !/^\d+$/.test(text)) {
    return { problem: text || input.validity.badInput ? "must be a whole number" : "is required" };
  }
  const replicas = Number(text);
  if (replicas > REPLICAS_MAX) {
    return { problem: `must be between 0 and ${REPLICAS_MAX}, got ${replicas}` };
  }
  return { replicas };
}

// ---------------------------------------------------------------------------------------
// Create

const createDialog = $("#create-dialog");
const createForm = $("#create-form");
const envRows = $("#create-env-rows");
const envTemplate = $("#env-row-template");
let envCounter = 0;

for (const opener of document.querySelectorAll('[data-opens="create"]')) {
  opener.addEventListener("click", () => openCreate(opener));
}

function openCreate(opener) {
  createForm.reset();
  envRows.replaceChildren();
  openDialog(createDialog, opener);
}

function addEnvRow() {
  envCounter += 1;
  const row = envTemplate.content.firstElementChild.cloneNode(true);
  const [keyLabel, valueLabel] = row.querySelectorAll("label");
  const key = $(".env-key", row);
  const value = $(".env-value", row);
  const error = $(".env-error", row);
  key.id = `env-key-${envCounter}`;
  value.id = `env-value-${envCounter}`;
  error.id = `env-error-${envCounter}`;
  keyLabel.htmlFor = key.id;
  valueLabel.htmlFor = value.id;
  key.setAttribute("aria-describedby", error.id);
  $(".env-remove", row).addEventListener("click", () => removeEnvRow(row));
  key.addEventListener("input", () => labelEnvRows());
  envRows.append(row);
  labelEnvRows();
  key.focus();
}

function removeEnvRow(row) {
  const next = row.nextElementSibling ?? row.previousElementSibling;
  row.remove();
  labelEnvRows();
  ($(".env-key", next ?? createForm) ?? $("#create-env-add")).focus();
}

// Labels say which variable they belong to, so a screen reader hears "Remove LOG_LEVEL".
function labelEnvRows() {
  [...envRows.children].forEach((row, index) => {
    const [keyLabel, valueLabel] = row.querySelectorAll("label");
    const key = $(".env-key", row).value.trim();
    keyLabel.textContent = `Variable ${index + 1} key`;
    valueLabel.textContent = key ? `Value of ${key}` : `Variable ${index + 1} value`;
    $(".env-remove", row).setAttribute(
      "aria-label",
      key ? `Remove variable ${key}` : `Remove variable ${index + 1}`,
    );
  });
}

$("#create-env-add").addEventListener("click", () => addEnvRow());

function readEnv(problems) {
  const env = {};
  let count = 0;
  for (const row of envRows.children) {
    const key = $(".env-key", row).value.trim();
    const value = $(".env-value", row).value;
    if (!key && !value) continue;
    const field = `env['${key}']`;
    const rowProblem = (description) => problems.push({ field, description, row });
    if (!key) rowProblem("key is required when a value is given");
    else if (!C_IDENTIFIER.test(key)) {
      rowProblem("key must be a C identifier: letters, digits and '_', not starting with a digit");
    } else if (Object.hasOwn(env, key)) rowProblem(`key ${key} appears more than once`);
    else if (new TextEncoder().encode(value).length > ENV_VALUE_MAX_BYTES) {
      rowProblem(`value must be at most ${ENV_VALUE_MAX_BYTES} bytes`);
    }
    if (key) env[key] = value;
    count += 1;
  }
  if (count > ENV_MAX_ENTRIES) {
    problems.push({
      field: "env",
      description: `must have at most ${ENV_MAX_ENTRIES} entries, got ${count}`,
    });
  }
  return env;
}

function readCreateForm() {
  const problems = [];
  const name = createForm.elements.name.value.trim();
  const image = createForm.elements.image.value.trim();
  const nameProblem = checkName(name);
  if (nameProblem) problems.push({ field: "name", description: nameProblem });
  const imageProblem = checkImage(image);
  if (imageProblem) problems.push({ field: "image", description: imageProblem });
  const { replicas, problem } = readReplicas(createForm.elements.replicas);
  if (problem) problems.push({ field: "replicas", description: problem });
  const env = readEnv(problems);
  return { request: { name, image, replicas, env }, problems };
}

function showEnvRowProblems(problems) {
  // Problems found in the form point at their row directly: an empty or repeated key
  // cannot be found again by its text.
  const rest = [];
  let first = null;
  for (const problem of problems) {
    if (!problem.row) {
      rest.push(problem);
      continue;
    }
    const key = $(".env-key", problem.row);
    showError($(".env-error", problem.row), sentence(problem.description), [key]);
    first ??= key;
  }
  return { first, rest };
}

createForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (createForm.getAttribute("aria-busy")) return;
  clearErrors(createForm);
  const { request, problems } = readCreateForm();
  if (problems.length) {
    const { first: envFirst, rest } = showEnvRowProblems(problems);
    const first = showProblems(createForm, rest) ?? envFirst;
    first?.focus();
    return;
  }

  try {
    await submitting(createForm, "Creating…", () => api("POST", "/v1/functions", request));
  } catch (error) {
    showProblems(createForm, problemsOf(error))?.focus();
    return;
  }
  // The empty state's button goes away with the first function; keep focus where it stays.
  if (createDialog.returnFocusTo?.id === "create-open-empty") {
    createDialog.returnFocusTo = $("#create-open");
  }
  closeDialog(createDialog);
  toast(`Created ${request.name}`);
  await refresh();
  highlight(request.name);
});

function highlight(name) {
  const row = rows.get(name)?.row;
  if (!row) return;
  row.classList.remove("fresh");
  void row.offsetWidth;
  row.classList.add("fresh");
  row.scrollIntoView({ block: "nearest" });
}

// ---------------------------------------------------------------------------------------
// Edit: scale and change the image

const editDialog = $("#edit-dialog");
const editForm = $("#edit-form");
let editing = null;

function openEdit(fn, opener) {
  editing = fn;
  setText($("#edit-title"), `Edit ${fn.name}`);
  editForm.elements.replicas.value = String(fn.replicas ?? 0);
  editForm.elements.image.value = fn.image ?? "";
  openDialog(editDialog, opener);
}

editForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (editForm.getAttribute("aria-busy") || !editing) return;
  clearErrors(editForm);
  const problems = [];
  const { replicas, problem } = readReplicas(editForm.elements.replicas);
  if (problem) problems.push({ field: "replicas", description: problem });
  const image = editForm.elements.image.value.trim();
  const imageProblem = checkImage(image);
  if (imageProblem) problems.push({ field: "image", description: imageProblem });
  if (problems.length) {
    showProblems(editForm, problems)?.focus();
    return;
  }

  // Only what changed is sent, and named in the mask, so 0 replicas is not taken for
  // "left out" and a change made meanwhile by someone else to the other field survives.
  const change = {};
  if (replicas !== editing.replicas) change.replicas = replicas;
  if (image !== editing.image) change.image = image;
  const fields = Object.keys(change);
  if (!fields.length) {
    closeDialog(editDialog);
    return;
  }
  const name = editing.name;
  try {
    await submitting(editForm, "Saving…", () =>
      api("PATCH", `/v1/functions/${encodeURIComponent(name)}`, {
        ...change,
        update_mask: fields.join(","),
      }),
    );
  } catch (error) {
    showProblems(editForm, problemsOf(error))?.focus();
    return;
  }
  closeDialog(editDialog);
  toast(
    fields.length === 2
      ? `Updated ${name}`
      : fields[0] === "replicas"
        ? `Scaled ${name} to ${replicas}`
        : `Changed the image of ${name}`,
  );
  await refresh();
  highlight(name);
});

// ---------------------------------------------------------------------------------------
// Delete

const deleteDialog = $("#delete-dialog");
const deleteForm = $("#delete-form");
let deleting = null;

function openDelete(fn, opener) {
  deleting = fn;
  setText($("#delete-name"), fn.name);
  setText($("#delete-title"), `Delete ${fn.name}?`);
  openDialog(deleteDialog, opener);
}

deleteForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (deleteForm.getAttribute("aria-busy") || !deleting) return;
  clearErrors(deleteForm);
  const name = deleting.name;
  try {
    await submitting(deleteForm, "Deleting…", () =>
      api("DELETE", `/v1/functions/${encodeURIComponent(name)}`),
    );
  } catch (error) {
    if (error.status !== 404) {
      showProblems(deleteForm, problemsOf(error));
      return;
    }
  }
  // The row's buttons go away with it, so focus moves to the row after it, or to Create.
  const entry = rows.get(name);
  const neighbour = entry?.row.nextElementSibling ?? entry?.row.previousElementSibling;
  deleteDialog.returnFocusTo = neighbour ? $('[data-action="delete"]', neighbour) : null;
  closeDialog(deleteDialog);
  toast(`Deleted ${name}`);
  await refresh();
});

// ---------------------------------------------------------------------------------------
// Signing in with an API key, when fnplane asks for one

const signInDialog = $("#signin-dialog");
const signInForm = $("#signin-form");
let signInWaiters = [];

function signIn() {
  return new Promise((resolve, reject) => {
    signInWaiters.push({ resolve, reject });
    if (!signInDialog.open) openDialog(signInDialog, document.activeElement);
  });
}

// Without a token nothing else works, so the dialog stays until a key is accepted.
signInDialog.addEventListener("cancel", (event) => event.preventDefault());

signInForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (signInForm.getAttribute("aria-busy")) return;
  clearErrors(signInForm);
  const key = signInForm.elements.api_key.value;
  if (!key) {
    showProblems(signInForm, [{ field: "api_key", description: "is required" }])?.focus();
    return;
  }
  const answer = await submitting(signInForm, "Signing in…", () =>
    send("POST", "/auth/token", { body: { api_key: key } }).catch((error) => ({
      ok: false,
      status: 0,
      body: { message: error.message },
    })),
  );
  if (!answer.ok || !answer.body?.token) {
    const description =
      answer.status === 401 || answer.status === 403
        ? "fnplane did not accept this API key"
        : new ApiError(answer.status, answer.body).message;
    showProblems(signInForm, [{ field: "api_key", description }])?.focus();
    return;
  }
  const token = remember(answer.body);
  signInForm.reset();
  closeDialog(signInDialog);
  const waiters = signInWaiters;
  signInWaiters = [];
  for (const waiter of waiters) waiter.resolve(token);
});

// ---------------------------------------------------------------------------------------
// Recent logs: the last lines of each of a function's pods, from
// GET /v1/functions/NAME/logs (one JSON line per log line; the kubernetes backend only).

const LOG_TAIL_LINES = 200;
const logsDialog = $("#logs-dialog");
let logsOf = null;

function openLogs(fn, opener) {
  logsOf = fn.name;
  setText($("#logs-title"), `Recent logs of ${fn.name}`);
  openDialog(logsDialog, opener);
  loadLogs();
}

async function loadLogs() {
  const name = logsOf;
  const note = $("#logs-note");
  const lines = $("#logs-lines");
  lines.textContent = "";
  note.textContent = "Loading…";
  try {
    const found = await readLogs(name);
    if (name !== logsOf) return;
    lines.textContent = found
      .map((line) => `${line.pod}  ${line.time}  ${line.text}`)
      .join("\n");
    note.textContent = found.length
      ? `The last ${LOG_TAIL_LINES} lines of each pod, oldest first.`
      : "No log lines yet.";
  } catch (error) {
    if (name === logsOf) note.textContent = sentence(error.message);
  }
}

async function readLogs(name) {
  const path = `/v1/functions/${encodeURIComponent(name)}/logs?tail_lines=${LOG_TAIL_LINES}`;
  for (let attempt = 0; ; attempt += 1) {
    const token = await currentToken();
    let response;
    try {
      response = await fetch(path, {
        headers: { Authorization: `Bearer ${token}` },
        cache: "no-store",
      });
    } catch {
      throw new ApiError(0, { message: "fnplane cannot be reached" });
    }
    if (response.status === 401 && attempt === 0) {
      forgetToken();
      continue;
    }
    const text = await response.text();
    if (!response.ok) {
      let body = null;
      try {
        body = JSON.parse(text);
      } catch {
        body = { message: text.trim() };
      }
      throw new ApiError(response.status, body);
    }
    return text
      .split("\n")
      .filter((line) => line.trim())
      .map((line) => JSON.parse(line));
  }
}

$("#logs-reload").addEventListener("click", () => loadLogs());
logsDialog.addEventListener("close", () => {
  logsOf = null;
});

// ---------------------------------------------------------------------------------------
// Start

document.addEventListener("visibilitychange", () => {
  if (!document.hidden) refresh();
});

showNamespace();
refresh();
watchFunctions();
