//! The turns: reads with the session item in one query, the last sequence
//! number, the conditional put of a turn, and the paged deletes of
//! `delete` and `clear`.

use super::*;

impl SessionStore {
    /// The session item and its `limit` most recent turns (newest first, any
    /// generation), read at the same time: one round trip. Nothing read here
    /// may be returned or decrypted before the caller's ownership check.
    pub async fn session_and_turns(
        &self,
        session_id: &str,
        limit: u32,
        consistent: bool,
    ) -> Result<(Option<SessionRecord>, Vec<TurnRecord>), ApiError> {
        tokio::try_join!(
            self.get_session(session_id, consistent),
            self.recent_turns(session_id, limit, consistent)
        )
    }

    /// The session item and the highest turn sequence number, read at the
    /// same time (the number is not returned before the ownership check).
    pub async fn session_and_last_seq(
        &self,
        session_id: &str,
        consistent: bool,
    ) -> Result<(Option<SessionRecord>, u64), ApiError> {
        tokio::try_join!(
            self.get_session(session_id, consistent),
            self.last_seq(session_id)
        )
    }

    /// Deletes a session so that a failure part-way leaves it gone for every
    /// reader and a retry finishes: first marks it `deleting` (the owner
    /// check; `userId` stays), then deletes its turns, then the session item
    /// (with the wrapped data key) last. Returns the number of turns deleted
    /// by this call. 404 when missing, someone else's or expired.
    pub async fn delete_session(
        &self,
        session_id: &str,
        user_id: &str,
        now_ms: u64,
    ) -> Result<usize, ApiError> {
        // A retry of an interrupted delete finds the session already marked;
        // an expired one is left to TTL like any other expired item.
        self.ddb
            .update_item()
            .table_name(&self.sessions)
            .set_key(Some(Self::session_key(session_id)))
            .update_expression("SET #st = :deleting")
            .condition_expression("userId = :uid AND (expiresAt > :nows OR #st = :deleting)")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":deleting", s(DELETING))
            .expression_attribute_values(":uid", s(user_id))
            .expression_attribute_values(":nows", n(now_ms / 1000))
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => ApiError::NotFound,
                _ => ApiError::from(classify("dynamodb:UpdateItem", &e)),
            })?;
        let deleted = self.delete_turns(session_id, None).await?;
        let res = self
            .ddb
            .delete_item()
            .table_name(&self.sessions)
            .set_key(Some(Self::session_key(session_id)))
            .condition_expression("userId = :uid AND #st = :deleting")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":uid", s(user_id))
            .expression_attribute_values(":deleting", s(DELETING))
            .send()
            .await;
        match res {
            Ok(_) => Ok(deleted),
            // A concurrent retry of the same delete finished first.
            Err(e) => match e.as_service_error() {
                Some(DeleteItemError::ConditionalCheckFailedException(_)) => Ok(deleted),
                _ => Err(ApiError::from(classify("dynamodb:DeleteItem", &e))),
            },
        }
    }

    /// Deletes the session's turns (25 per BatchWriteItem, retrying
    /// unprocessed items), all of them, or with `keep` those of that
    /// generation. Returns how many were deleted.
    pub async fn delete_turns(
        &self,
        session_id: &str,
        keep: Option<u64>,
    ) -> Result<usize, ApiError> {
        let mut deleted = 0;
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .ddb
                .query()
                .table_name(&self.sessions)
                .key_condition_expression("sessionId = :sid AND begins_with(sk, :p)")
                .expression_attribute_values(":sid", s(session_id))
                .expression_attribute_values(":p", s(TURN_PREFIX))
                .projection_expression("sessionId, sk, #g")
                .expression_attribute_names("#g", "gen")
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(query_failed)?;
            let keys: Vec<Item> = out
                .items
                .unwrap_or_default()
                .into_iter()
                .filter(|i| keep.is_none() || get_n(i, "gen").unwrap_or(0) != keep.unwrap_or(0))
                .map(|mut i| {
                    i.remove("gen");
                    i
                })
                .collect();
            for chunk in keys.chunks(25) {
                let mut requests: Vec<WriteRequest> = chunk
                    .iter()
                    .map(|k| {
                        WriteRequest::builder()
                            .delete_request(
                                DeleteRequest::builder()
                                    .set_key(Some(k.clone()))
                                    .build()
                                    .expect("key set"),
                            )
                            .build()
                    })
                    .collect();
                let mut attempt = 0u32;
                while !requests.is_empty() {
                    let out = self
                        .ddb
                        .batch_write_item()
                        .request_items(&self.sessions, requests)
                        .send()
                        .await
                        .map_err(|e| ApiError::from(classify("dynamodb:BatchWriteItem", &e)))?;
                    requests = out
                        .unprocessed_items
                        .and_then(|mut m| m.remove(&self.sessions))
                        .unwrap_or_default();
                    if !requests.is_empty() {
                        attempt += 1;
                        if attempt > 8 {
                            return Err(ApiError::Unavailable);
                        }
                        tokio::time::sleep(Duration::from_millis(20 << attempt.min(5))).await;
                    }
                }
                deleted += chunk.len();
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        Ok(deleted)
    }

    /// The `limit` most recent turns, newest first.
    pub async fn recent_turns(
        &self,
        session_id: &str,
        limit: u32,
        consistent: bool,
    ) -> Result<Vec<TurnRecord>, ApiError> {
        let out = self
            .ddb
            .query()
            .table_name(&self.sessions)
            .key_condition_expression("sessionId = :sid AND begins_with(sk, :p)")
            .expression_attribute_values(":sid", s(session_id))
            .expression_attribute_values(":p", s(TURN_PREFIX))
            .scan_index_forward(false)
            .limit(limit.max(1) as i32)
            .consistent_read(consistent)
            .send()
            .await
            .map_err(query_failed)?;
        turns_of(out.items)
    }

    /// Up to `limit` turns after sequence number `after`, oldest first
    /// (strongly consistent): what a writer that lost a slot skips over.
    pub async fn turns_after(
        &self,
        session_id: &str,
        after: u64,
        limit: u32,
    ) -> Result<Vec<TurnRecord>, ApiError> {
        let out = self
            .ddb
            .query()
            .table_name(&self.sessions)
            .key_condition_expression("sessionId = :sid AND sk BETWEEN :from AND :to")
            .expression_attribute_values(":sid", s(session_id))
            .expression_attribute_values(":from", s(turn_sk(after + 1)))
            .expression_attribute_values(":to", s(turn_sk(MAX_SEQ)))
            .limit(limit.max(1) as i32)
            .consistent_read(true)
            .send()
            .await
            .map_err(query_failed)?;
        turns_of(out.items)
    }

    /// The highest turn sequence number (0 when there are none).
    pub async fn last_seq(&self, session_id: &str) -> Result<u64, ApiError> {
        let out = self
            .ddb
            .query()
            .table_name(&self.sessions)
            .key_condition_expression("sessionId = :sid AND begins_with(sk, :p)")
            .expression_attribute_values(":sid", s(session_id))
            .expression_attribute_values(":p", s(TURN_PREFIX))
            .projection_expression("sk")
            .select(Select::SpecificAttributes)
            .scan_index_forward(false)
            .limit(1)
            .consistent_read(true)
            .send()
            .await
            .map_err(query_failed)?;
        Ok(out
            .items
            .unwrap_or_default()
            .first()
            .and_then(|i| get_s(i, "sk"))
            .and_then(|sk| parse_turn_sk(&sk))
            .unwrap_or(0))
    }

    /// Stores a turn in its sequence slot unless the slot is taken
    /// (`attribute_not_exists` on the key: a conditional put never
    /// overwrites,
    /// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html).
    pub async fn put_turn(&self, turn: &TurnRecord) -> Result<PutTurn, ApiError> {
        let res = self
            .ddb
            .put_item()
            .table_name(&self.sessions)
            .set_item(Some(turn.to_item()))
            .condition_expression("attribute_not_exists(sk)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match res {
            Ok(_) => Ok(PutTurn::Stored),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(c)) => {
                    let existing = match c.item() {
                        Some(item) if !item.is_empty() => TurnRecord::from_item(item)?,
                        _ => self
                            .get_turn(&turn.session_id, turn.seq)
                            .await?
                            .ok_or(ApiError::Unavailable)?,
                    };
                    Ok(PutTurn::Taken(Box::new(existing)))
                }
                _ => Err(ApiError::from(classify("dynamodb:PutItem", &e))),
            },
        }
    }

    async fn get_turn(&self, session_id: &str, seq: u64) -> Result<Option<TurnRecord>, ApiError> {
        let out = self
            .ddb
            .get_item()
            .table_name(&self.sessions)
            .key("sessionId", s(session_id))
            .key("sk", s(turn_sk(seq)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| ApiError::from(classify("dynamodb:GetItem", &e)))?;
        out.item.as_ref().map(TurnRecord::from_item).transpose()
    }
}
