//! The answers, built from stored records: the typed answers of
//! [`crate::wire`] and their JSON text.

use super::*;

/// An answer: its status and its JSON text.
pub(super) type Answer = (StatusCode, String);

pub(super) fn answer<T: Serialize>(status: StatusCode, body: &T) -> Result<Answer, ApiError> {
    let text = serde_json::to_string(body).map_err(|_| ApiError::Internal)?;
    Ok((status, text))
}

pub(super) fn session_answer(
    action: wire::SessionAnswerAction,
    rec: &SessionRecord,
    turn_count: u64,
) -> wire::SessionResponse {
    wire::SessionResponse {
        action,
        session: session_view(rec, turn_count),
    }
}

pub(super) fn turn_answer(turn: wire::Turn, context: wire::Context) -> Result<Answer, ApiError> {
    answer(
        StatusCode::OK,
        &wire::AddTurnResponse {
            action: wire::AddTurnAction::AddTurn,
            turn,
            context,
        },
    )
}

pub(super) fn respond(status: StatusCode, body: String) -> Response<Body> {
    let mut response = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CACHE_CONTROL, "no-store");
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response = response.header(header::RETRY_AFTER, RETRY_AFTER_SECONDS);
    }
    response
        .body(Body::Text(body))
        .unwrap_or_else(|_| Response::new(Body::Empty))
}

pub(super) fn session_view(rec: &SessionRecord, turn_count: u64) -> wire::Session {
    wire::Session {
        session_id: rec.session_id.clone(),
        current_topic: rec.current_topic.clone(),
        mode: rec.mode.clone(),
        language: rec.language.clone(),
        status: rec.status.clone(),
        created_at: rec.created_at.clone(),
        updated_at: rec.updated_at.clone(),
        expires_at: rec.expires_at,
        turn_count,
        has_summary: rec.summary.is_some(),
        version: rec.version,
    }
}

pub(super) fn summary_view(s: &SessionSummary) -> wire::SessionSummary {
    wire::SessionSummary {
        session_id: s.session_id.clone(),
        current_topic: s.current_topic.clone(),
        mode: s.mode.clone(),
        language: s.language.clone(),
        status: s.status.clone(),
        created_at: s.created_at.clone(),
        updated_at: s.updated_at.clone(),
        expires_at: s.expires_at,
        turn_count: s.turn_count,
    }
}

pub(super) fn turn_view(key: &DataKey, t: &TurnRecord) -> Result<wire::Turn, ApiError> {
    let content = key.open_str(
        &content_aad(&t.session_id, &t.sk(), &t.role, t.generation),
        &t.content,
    )?;
    Ok(wire::Turn {
        seq: t.seq,
        turn_id: t.turn_id.clone(),
        role: t.role.clone(),
        content,
        language: t.language.clone(),
        created_at: t.created_at.clone(),
        tokens: t.tokens,
    })
}

/// The context window from the current generation's turns read newest
/// first: the most recent turns within the turn and token budgets, returned
/// oldest first, plus the summary.
pub(super) fn context_view(
    rec: &SessionRecord,
    key: &DataKey,
    newest_first: &[TurnRecord],
    window: WindowSpec,
) -> Result<wire::Context, ApiError> {
    let mut picked = Vec::new();
    let mut tokens = 0u32;
    for t in newest_first.iter().take(window.max_turns as usize) {
        if tokens.saturating_add(t.tokens) > window.max_tokens {
            break;
        }
        tokens += t.tokens;
        picked.push(t);
    }
    let has_older = picked.last().is_some_and(|t| t.seq > rec.turn_base + 1)
        || (picked.is_empty() && !newest_first.is_empty());
    let turns = picked
        .iter()
        .rev()
        .map(|t| turn_view(key, t))
        .collect::<Result<Vec<_>, _>>()?;
    let summary = rec
        .summary
        .as_ref()
        .map(|s| {
            key.open_str(
                &aad(&rec.session_id, SESSION_SK, "summary", rec.generation),
                s,
            )
        })
        .transpose()?;
    Ok(wire::Context {
        session_id: rec.session_id.clone(),
        summary,
        turns,
        turn_count: newest_first
            .first()
            .map_or(0, |t| rec.count_since_clear(t.seq)),
        tokens,
        has_older_turns: has_older,
    })
}
