// A frontend's use of every operation, type-checked against the types
// openapi-typescript generates from templates/openapi.yaml (the browser
// test's page does the same calls at run time). A schema change that breaks
// this program breaks real clients too.
import type { components, paths } from "./api";

type Schemas = components["schemas"];
type SessionsBody = paths["/sessions"]["post"]["requestBody"]["content"]["application/json"];
type ContextBody = paths["/context"]["post"]["requestBody"]["content"]["application/json"];
type Created = paths["/sessions"]["post"]["responses"]["201"]["content"]["application/json"];
type SessionsOk = paths["/sessions"]["post"]["responses"]["200"]["content"]["application/json"];
type ContextOk = paths["/context"]["post"]["responses"]["200"]["content"]["application/json"];
type Failure = Schemas["Error"];

declare function post<B, R>(route: "/sessions" | "/context", body: B): Promise<R | Failure>;

function failed(r: object): r is Failure {
  return "error" in r;
}

async function everyOperation(): Promise<string[]> {
  const seen: string[] = [];
  const created = await post<SessionsBody, Created>("/sessions", {
    action: "create",
    session: { currentTopic: "JavaScript Basics", mode: "tutor", language: "en" },
  });
  if (failed(created)) return [created.error.code, created.error.message, created.error.requestId];
  const createdAction: "create" | "get" | "update" | "set_summary" = created.action;
  seen.push(createdAction);
  const id: string = created.session.sessionId;
  const version: number = created.session.version;
  seen.push(created.session.status, created.session.createdAt);

  const got = await post<SessionsBody, SessionsOk>("/sessions", { action: "get", sessionId: id });
  if (!failed(got) && got.action === "get") seen.push(got.session.currentTopic);

  const updated = await post<SessionsBody, SessionsOk>("/sessions", {
    action: "update", sessionId: id, version, session: { status: "paused" },
  });
  if (!failed(updated) && updated.action === "update") seen.push(String(updated.session.version));

  const page = await post<SessionsBody, SessionsOk>("/sessions", { action: "list", limit: 20 });
  if (!failed(page) && page.action === "list") {
    for (const s of page.sessions) seen.push(s.sessionId, String(s.turnCount));
    if (page.cursor) seen.push(page.cursor);
  }

  const restored = await post<SessionsBody, SessionsOk>("/sessions", {
    action: "restore", sessionId: id, window: { maxTurns: 20, maxTokens: 4000 },
  });
  if (!failed(restored) && restored.action === "restore") seen.push(String(restored.context.turnCount));

  const added = await post<ContextBody, ContextOk>("/context", {
    action: "add_turn", sessionId: id,
    turn: { role: "user", content: "What is a closure?", language: "en", turnId: "t-1" },
  });
  if (!failed(added) && added.action === "add_turn") seen.push(String(added.turn.seq), added.turn.turnId);

  const context = await post<ContextBody, ContextOk>("/context", { action: "get_context", sessionId: id });
  if (!failed(context) && context.action === "get_context") {
    for (const t of context.context.turns) seen.push(t.role, t.content);
    seen.push(context.context.summary ?? "");
  }

  await post<ContextBody, ContextOk>("/context", { action: "set_summary", sessionId: id, summary: "Closures." });
  const cleared = await post<ContextBody, ContextOk>("/context", { action: "clear", sessionId: id });
  // Narrowed by `action` alone (the document's discriminator): no field test.
  if (!failed(cleared) && cleared.action === "clear") seen.push(String(cleared.turnsDeleted));

  const deleted = await post<SessionsBody, SessionsOk>("/sessions", { action: "delete", sessionId: id });
  if (!failed(deleted) && deleted.action === "delete") seen.push(String(deleted.turnsDeleted));
  return seen;
}

export { everyOperation };
