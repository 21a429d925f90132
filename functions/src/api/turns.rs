//! `add_turn`: one conditional write per turn, the retry of a stored turn
//! answered from the table, and the slot walk under contention (see the
//! crate docs).

use super::*;

impl App {
    pub(super) async fn add_turn(
        &self,
        user: &str,
        session_id: &str,
        turn: NewTurn,
        window: WindowSpec,
        now: u64,
    ) -> Result<Answer, ApiError> {
        let store = &self.inner.store;
        let lookback = lookback_turns(window);
        // One round trip: the session (ownership, key, generation) and the
        // newest turns (next sequence number, retried turnIds, the window).
        let (rec, turns) = store.session_and_turns(session_id, lookback, true).await?;
        let rec = live_owned(rec, user, now)?;
        let key = self.key(&rec).await?;
        let window = WindowSpec {
            max_turns: window.max_turns.min(lookback),
            ..window
        };
        // Slots are taken in every generation, so numbering goes on from the
        // highest one seen (or the last clear).
        let highest = turns.first().map_or(0, |t| t.seq).max(rec.turn_base);
        let mut recent = rec.visible(turns);
        let turn_id = match &turn.turn_id {
            Some(id) => id.to_string(),
            None => new_uuid()?,
        };
        let role = turn.role.as_str();
        let digest = key.turn_digest(&turn_id, role, &turn.content);
        // A retry of a turn already stored: the same answer, nothing written.
        if let Some(existing) = recent.iter().find(|t| t.turn_id == turn_id) {
            same_turn(&key, existing, role, &turn.content)?;
            let stored = turn_view(&key, existing)?;
            return turn_answer(stored, context_view(&rec, &key, &recent, window)?);
        }
        let touch_interval = self.inner.settings.touch_interval_ms;
        let last_touch = parse_iso8601(&rec.updated_at).unwrap_or(0);
        let mut touch_due = now.saturating_sub(last_touch) >= touch_interval;
        let is_duplicate = |t: &TurnRecord| t.turn_id == turn_id && t.generation == rec.generation;
        let mut seq = highest + 1;
        let mut contended = false;
        let mut attempt = 0u32;
        let stored = loop {
            if rec.count_since_clear(seq) > MAX_TURNS_PER_SESSION {
                return Err(ApiError::SessionFull(MAX_TURNS_PER_SESSION));
            }
            let sealing_aad = content_aad(
                session_id,
                &crate::store::turn_sk(seq),
                role,
                rec.generation,
            );
            let record = TurnRecord {
                session_id: session_id.to_string(),
                seq,
                turn_id: turn_id.clone(),
                role: role.to_string(),
                content: key.seal_str(&sealing_aad, &turn.content)?,
                language: turn.language.to_string(),
                created_at: iso8601(now),
                tokens: model::estimate_tokens(&turn.content),
                expires_at: expires_at(now),
                generation: rec.generation,
                digest: Some(digest.clone()),
            };
            // The lazy session refresh (see the crate docs) rides along with
            // the first attempt instead of costing a round trip of its own.
            let put = if touch_due {
                touch_due = false;
                let stale_before = iso8601(now.saturating_sub(touch_interval).saturating_add(1));
                let (put, ()) = tokio::try_join!(
                    store.put_turn(&record),
                    store.touch_session(
                        session_id,
                        user,
                        now,
                        &stale_before,
                        rec.count_since_clear(seq)
                    )
                )?;
                put
            } else {
                store.put_turn(&record).await?
            };
            match put {
                PutTurn::Stored => break record,
                PutTurn::Taken(other) if is_duplicate(&other) => {
                    return self
                        .answer_duplicate(&rec, &key, &other, role, &turn.content, window)
                        .await;
                }
                PutTurn::Taken(other) => {
                    contended = true;
                    attempt += 1;
                    if attempt >= MAX_SLOT_ATTEMPTS {
                        tracing::warn!(
                            event = "turn_slot_contention",
                            attempts = attempt,
                            "giving up on a free turn slot"
                        );
                        return Err(ApiError::Unavailable);
                    }
                    // Spread competing writers a little (full jitter, capped),
                    // then start from the newest slot, not the one just
                    // lost: a busy writer would otherwise stay one ahead.
                    let mut r = [0u8; 1];
                    let _ = aws_lc_rs::rand::fill(&mut r);
                    let cap = 2u64 << attempt.min(4);
                    tokio::time::sleep(Duration::from_millis(u64::from(r[0]) % cap)).await;
                    let newer = store
                        .turns_after(session_id, other.seq, LOOKBACK_MAX_TURNS)
                        .await?;
                    // Every skipped slot is seen: the same walk finds a
                    // concurrent duplicate of this turnId.
                    if let Some(dup) = newer.iter().find(|t| is_duplicate(t)) {
                        return self
                            .answer_duplicate(&rec, &key, dup, role, &turn.content, window)
                            .await;
                    }
                    seq = newer.last().map_or(other.seq, |t| t.seq) + 1;
                }
            }
        };
        if contended {
            recent = rec.visible(
                store
                    .recent_turns(session_id, window.max_turns, true)
                    .await?,
            );
        } else {
            recent.insert(0, stored.clone());
        }
        let view = wire::Turn {
            seq: stored.seq,
            turn_id: stored.turn_id,
            role: stored.role,
            content: turn.content.into_string(),
            language: stored.language,
            created_at: stored.created_at,
            tokens: stored.tokens,
        };
        turn_answer(view, context_view(&rec, &key, &recent, window)?)
    }
}

impl App {
    /// The answer to a turn a concurrent request with the same `turnId`
    /// stored first: the same turn, or 409 if it is not the same turn.
    #[allow(clippy::too_many_arguments)]
    async fn answer_duplicate(
        &self,
        rec: &SessionRecord,
        key: &DataKey,
        stored: &TurnRecord,
        role: &str,
        content: &str,
        window: WindowSpec,
    ) -> Result<Answer, ApiError> {
        same_turn(key, stored, role, content)?;
        let recent = rec.visible(
            self.inner
                .store
                .recent_turns(&rec.session_id, window.max_turns, true)
                .await?,
        );
        turn_answer(
            turn_view(key, stored)?,
            context_view(rec, key, &recent, window)?,
        )
    }
}

/// A stored turn with the same `turnId` must be the same turn: same role and
/// content (by the stored digest; by decrypting, for turns stored before
/// digests). Else 409 `turn_id_conflict`.
pub(super) fn same_turn(
    key: &DataKey,
    existing: &TurnRecord,
    role: &str,
    content: &str,
) -> Result<(), ApiError> {
    let same = existing.role == role
        && match &existing.digest {
            Some(d) => key.digest_matches(d, &existing.turn_id, role, content),
            None => {
                let aad = content_aad(
                    &existing.session_id,
                    &existing.sk(),
                    &existing.role,
                    existing.generation,
                );
                key.open_str(&aad, &existing.content)? == content
            }
        };
    if same {
        Ok(())
    } else {
        Err(ApiError::TurnIdConflict)
    }
}
