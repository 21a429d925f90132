//! Reads and conditional writes of the session item: create, get, update,
//! touch, summary, clear (a new generation), `list` and the latest session.

use super::*;
use crate::wire::{Mode, Status};
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemOutput;

impl SessionStore {
    /// The session an `UpdateItem` with `ReturnValues=ALL_NEW` left, or, when
    /// its condition failed, what the session's state makes of that: 404
    /// when it is gone or not the user's, else `conflict` of the current one.
    async fn updated_session(
        &self,
        res: Result<UpdateItemOutput, SdkError<UpdateItemError>>,
        session_id: &str,
        user_id: &str,
        now_ms: u64,
        conflict: impl FnOnce(&SessionRecord) -> Result<SessionRecord, ApiError>,
    ) -> Result<SessionRecord, ApiError> {
        match res {
            Ok(out) => SessionRecord::from_item(&out.attributes.unwrap_or_default()),
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => {
                    self.classify_failed_condition(session_id, user_id, now_ms, conflict)
                        .await
                }
                _ => Err(ApiError::from(classify("dynamodb:UpdateItem", &e))),
            },
        }
    }

    /// The user's profile defaults, if the user has a profile.
    pub async fn profile(&self, user_id: &str) -> Result<Option<Profile>, ApiError> {
        let out = self
            .ddb
            .get_item()
            .table_name(&self.profiles)
            .key("userId", s(user_id))
            .send()
            .await
            .map_err(|e| ApiError::from(classify("dynamodb:GetItem", &e)))?;
        Ok(out.item.map(|item| Profile {
            language: get_s(&item, "language").filter(|l| crate::model::is_bcp47(l)),
            mode: get_s(&item, "mode").filter(|m| Mode::parse(m).is_some()),
        }))
    }

    /// Stores a new session item (never overwriting one). When the SDK
    /// retries a put whose answer was lost, the retry finds the item the
    /// first attempt stored: that item, identical to ours, is success.
    pub async fn put_session(&self, rec: &SessionRecord) -> Result<(), ApiError> {
        let item = rec.to_item();
        self.ddb
            .put_item()
            .table_name(&self.sessions)
            .set_item(Some(item.clone()))
            .condition_expression("attribute_not_exists(sessionId)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await
            .map(drop)
            .or_else(|e| match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(c))
                    if c.item() == Some(&item) =>
                {
                    Ok(())
                }
                Some(PutItemError::ConditionalCheckFailedException(_)) => {
                    Err(ApiError::Conflict("session id collision; retry".into()))
                }
                _ => Err(ApiError::from(classify("dynamodb:PutItem", &e))),
            })
    }

    /// The session item, if it exists.
    /// `consistent`: a strongly consistent read (2x the read units).
    pub async fn get_session(
        &self,
        session_id: &str,
        consistent: bool,
    ) -> Result<Option<SessionRecord>, ApiError> {
        let out = self
            .ddb
            .get_item()
            .table_name(&self.sessions)
            .set_key(Some(Self::session_key(session_id)))
            .consistent_read(consistent)
            .send()
            .await
            .map_err(|e| ApiError::from(classify("dynamodb:GetItem", &e)))?;
        out.item.as_ref().map(SessionRecord::from_item).transpose()
    }

    /// The session if it exists, belongs to `user_id` and is live; else 404.
    pub async fn owned_session(
        &self,
        session_id: &str,
        user_id: &str,
        consistent: bool,
        now_ms: u64,
    ) -> Result<SessionRecord, ApiError> {
        live_owned(
            self.get_session(session_id, consistent).await?,
            user_id,
            now_ms,
        )
    }

    /// 404 when the session is missing, someone else's, being deleted or
    /// expired; else `conflict` (a condition failed on a live session).
    async fn classify_failed_condition(
        &self,
        session_id: &str,
        user_id: &str,
        now_ms: u64,
        conflict: impl FnOnce(&SessionRecord) -> Result<SessionRecord, ApiError>,
    ) -> Result<SessionRecord, ApiError> {
        let cur = self
            .owned_session(session_id, user_id, true, now_ms)
            .await?;
        conflict(&cur)
    }

    /// Applies `changes` if the stored version is `version` and the session
    /// is the user's and live. 404 when missing, someone else's, being
    /// deleted or expired; 409 when stale.
    pub async fn update_session(
        &self,
        session_id: &str,
        user_id: &str,
        version: u64,
        changes: &SessionChanges,
        now_ms: u64,
    ) -> Result<SessionRecord, ApiError> {
        let mut sets = vec![
            "updatedAt = :now".to_string(),
            "expiresAt = :exp".to_string(),
            "version = version + :one".to_string(),
        ];
        let mut values = HashMap::from([
            (":now".to_string(), s(iso8601(now_ms))),
            (":exp".to_string(), n(expires_at(now_ms))),
            (":one".to_string(), n(1)),
            (":uid".to_string(), s(user_id)),
            (":ver".to_string(), n(version)),
        ]);
        let mut names = HashMap::new();
        live_condition(&mut names, &mut values, now_ms);
        let fields: [(&str, &str, Option<&str>); 4] = [
            ("currentTopic", ":topic", changes.current_topic.as_deref()),
            ("mode", ":mode", changes.mode.map(Mode::as_str)),
            ("language", ":lang", changes.language.as_deref()),
            ("status", ":status", changes.status.map(Status::as_str)),
        ];
        for (attr, placeholder, value) in fields {
            if let Some(v) = value {
                sets.push(format!("#{attr} = {placeholder}"));
                names.insert(format!("#{attr}"), attr.to_string());
                values.insert(placeholder.to_string(), s(v));
            }
        }
        let res = self
            .ddb
            .update_item()
            .table_name(&self.sessions)
            .set_key(Some(Self::session_key(session_id)))
            .update_expression(format!("SET {}", sets.join(", ")))
            .condition_expression(format!("userId = :uid AND version = :ver AND {LIVE}"))
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        self.updated_session(res, session_id, user_id, now_ms, |cur| {
            // The SDK retried an update whose answer was lost after DynamoDB
            // applied it: the session is one version on, stamped with this
            // request's time, holding its changes. That is this update.
            let mine = cur.version == version + 1
                && cur.updated_at == iso8601(now_ms)
                && changes
                    .current_topic
                    .as_ref()
                    .is_none_or(|t| t.as_str() == cur.current_topic)
                && changes.mode.is_none_or(|m| m.as_str() == cur.mode)
                && changes
                    .language
                    .as_ref()
                    .is_none_or(|l| l.as_str() == cur.language)
                && changes.status.is_none_or(|st| st.as_str() == cur.status);
            if mine {
                return Ok(cur.clone());
            }
            Err(ApiError::Conflict(format!(
                "version {version} is stale; the session is at version {}",
                cur.version
            )))
        })
        .await
    }

    /// Starts a new generation (the `clear`): turns of earlier generations
    /// are invisible from this write on, the summary is removed and the
    /// turn count starts again after `turn_base`, and `wrapped_key` (a new
    /// data key) replaces the session's, so what an earlier generation left
    /// behind no longer opens with any stored key. Conditional on the owner,
    /// a live session and the generation the caller read (a concurrent
    /// clear is a 409). The caller then deletes the old generations' turns.
    pub async fn start_generation(
        &self,
        rec: &SessionRecord,
        turn_base: u64,
        wrapped_key: &[u8],
        now_ms: u64,
    ) -> Result<SessionRecord, ApiError> {
        let mut names = HashMap::new();
        let mut values = HashMap::from([
            (":now".to_string(), s(iso8601(now_ms))),
            (":exp".to_string(), n(expires_at(now_ms))),
            (":one".to_string(), n(1)),
            (":uid".to_string(), s(&rec.user_id)),
            (":zero".to_string(), n(0)),
            (":gnext".to_string(), n(rec.generation + 1)),
            (":base".to_string(), n(turn_base)),
            (":wk".to_string(), b(wrapped_key)),
        ]);
        live_condition(&mut names, &mut values, now_ms);
        let gen_cond = generation_condition(&mut names, &mut values, rec.generation);
        let res = self
            .ddb
            .update_item()
            .table_name(&self.sessions)
            .set_key(Some(Self::session_key(&rec.session_id)))
            .update_expression(
                "SET updatedAt = :now, expiresAt = :exp, version = version + :one, \
                 turnCount = :zero, #g = :gnext, turnBase = :base, wrappedKey = :wk \
                 REMOVE summary",
            )
            .condition_expression(format!("userId = :uid AND {LIVE} AND {gen_cond}"))
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        self.updated_session(res, &rec.session_id, &rec.user_id, now_ms, |cur| {
            // This clear's own write, applied but its answer lost and the
            // call retried by the SDK: the next generation, stamped now.
            if cur.generation == rec.generation + 1 && cur.updated_at == iso8601(now_ms) {
                return Ok(cur.clone());
            }
            Err(ApiError::Conflict(
                "the session was cleared concurrently; retry".into(),
            ))
        })
        .await
    }

    /// One page of the user's live sessions, newest `updatedAt` first.
    /// Sessions being deleted or expired are filtered out; since DynamoDB
    /// applies `Limit` before the filter
    /// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Query.FilterExpression.html),
    /// a short page is topped up with a few more queries.
    pub async fn list_sessions(
        &self,
        user_id: &str,
        limit: u32,
        cursor: Option<&str>,
        now_ms: u64,
    ) -> Result<(Vec<SessionSummary>, Option<String>), ApiError> {
        let mut start = cursor.map(|c| decode_cursor(c, user_id)).transpose()?;
        let mut sessions = Vec::new();
        for _ in 0..LIST_QUERIES {
            let out = self
                .ddb
                .query()
                .table_name(&self.sessions)
                .index_name(&self.index)
                .key_condition_expression("userId = :uid")
                .filter_expression("#st <> :deleting AND expiresAt > :nows")
                .expression_attribute_names("#st", "status")
                .expression_attribute_values(":uid", s(user_id))
                .expression_attribute_values(":deleting", s(DELETING))
                .expression_attribute_values(":nows", n(now_ms / 1000))
                .scan_index_forward(false)
                .limit((limit as usize - sessions.len()) as i32)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(query_failed)?;
            for item in out.items.unwrap_or_default() {
                sessions.push(SessionSummary::from_item(&item)?);
            }
            start = out.last_evaluated_key.filter(|k| !k.is_empty());
            if start.is_none() || sessions.len() >= limit as usize {
                break;
            }
        }
        let next = start.as_ref().map(encode_cursor).transpose()?;
        Ok((sessions, next))
    }

    /// The user's most recently updated live session whose status is `active`.
    pub async fn latest_active(
        &self,
        user_id: &str,
        now_ms: u64,
    ) -> Result<Option<String>, ApiError> {
        let mut start: Option<Item> = None;
        for _ in 0..20 {
            let out = self
                .ddb
                .query()
                .table_name(&self.sessions)
                .index_name(&self.index)
                .key_condition_expression("userId = :uid")
                .filter_expression("#st = :active AND expiresAt > :nows")
                .expression_attribute_names("#st", "status")
                .expression_attribute_values(":uid", s(user_id))
                .expression_attribute_values(":active", s("active"))
                .expression_attribute_values(":nows", n(now_ms / 1000))
                .scan_index_forward(false)
                .limit(25)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(query_failed)?;
            if let Some(first) = out.items.unwrap_or_default().first() {
                return Ok(get_s(first, "sessionId"));
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(None),
            }
        }
        Ok(None)
    }

    /// Refreshes the session's `updatedAt`, `expiresAt` and `turnCount`
    /// unless another writer already did since `stale_before`, or the
    /// session is being deleted or expired. Best effort: a failed condition
    /// is not an error.
    pub async fn touch_session(
        &self,
        session_id: &str,
        user_id: &str,
        now_ms: u64,
        stale_before: &str,
        turn_count: u64,
    ) -> Result<(), ApiError> {
        let mut names = HashMap::new();
        let mut values = HashMap::from([
            (":now".to_string(), s(iso8601(now_ms))),
            (":exp".to_string(), n(expires_at(now_ms))),
            (":tc".to_string(), n(turn_count)),
            (":uid".to_string(), s(user_id)),
            (":stale".to_string(), s(stale_before)),
        ]);
        live_condition(&mut names, &mut values, now_ms);
        let res = self
            .ddb
            .update_item()
            .table_name(&self.sessions)
            .set_key(Some(Self::session_key(session_id)))
            .update_expression("SET updatedAt = :now, expiresAt = :exp, turnCount = :tc")
            .condition_expression(format!("userId = :uid AND updatedAt < :stale AND {LIVE}"))
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .send()
            .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => Ok(()),
                _ => Err(ApiError::from(classify("dynamodb:UpdateItem", &e))),
            },
        }
    }

    /// Sets the sealed summary (sealed for `generation`) and marks activity,
    /// if the session is the user's, live and still at `generation`. 404
    /// when not the user's or not live; 409 when cleared meanwhile.
    pub async fn set_summary(
        &self,
        session_id: &str,
        user_id: &str,
        sealed: &[u8],
        generation: u64,
        now_ms: u64,
    ) -> Result<SessionRecord, ApiError> {
        let mut names = HashMap::new();
        let mut values = HashMap::from([
            (":now".to_string(), s(iso8601(now_ms))),
            (":exp".to_string(), n(expires_at(now_ms))),
            (":one".to_string(), n(1)),
            (":uid".to_string(), s(user_id)),
            (":sum".to_string(), b(sealed)),
        ]);
        live_condition(&mut names, &mut values, now_ms);
        let gen_cond = generation_condition(&mut names, &mut values, generation);
        let res = self
            .ddb
            .update_item()
            .table_name(&self.sessions)
            .set_key(Some(Self::session_key(session_id)))
            .update_expression(
                "SET updatedAt = :now, expiresAt = :exp, version = version + :one, summary = :sum",
            )
            .condition_expression(format!("userId = :uid AND {LIVE} AND {gen_cond}"))
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        self.updated_session(res, session_id, user_id, now_ms, |_| {
            Err(ApiError::Conflict(
                "the session was cleared while the summary was written; retry".into(),
            ))
        })
        .await
    }
}
