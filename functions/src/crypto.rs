//! Envelope encryption of conversation content and summaries.
//!
//! Each session has its own 256-bit data key, made locally at `create`,
//! wrapped with `kms:Encrypt` under the encryption context
//! `{sessionId, userId}` and stored (wrapped) in the session item. A function
//! unwraps it with `kms:Decrypt` the first time it needs it and keeps it in a
//! bounded in-memory cache for as long as the container is warm, so KMS is
//! called once per session per container, not per turn (concurrent first
//! uses share one call).
//!
//! Fields are sealed with AES-256-GCM (aws-lc-rs); the stored value is
//! `nonce (12) || ciphertext || tag (16)` and the associated data is
//! `"vla1|<sessionId>|<sk>|<field>"` (for turn content the field also names
//! the turn's role), so a ciphertext copied into another session, item or
//! attribute, or a turn whose role was changed, fails to open.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_sdk_kms::primitives::Blob;
use tokio::sync::OnceCell;

use crate::error::{classify, ApiError, DependencyError};

/// Bytes added to every sealed field (nonce and tag).
pub const OVERHEAD: usize = NONCE_LEN + 16;

/// A session's unwrapped data key.
pub struct DataKey(LessSafeKey);

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(..)")
    }
}

/// Why a sealed field did not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("ciphertext failed authentication")]
pub struct OpenError;

impl From<OpenError> for ApiError {
    fn from(_: OpenError) -> Self {
        tracing::error!(event = "integrity", "a stored ciphertext failed to open");
        ApiError::Integrity
    }
}

/// The associated data binding a field to its session and item.
pub fn aad(session_id: &str, sk: &str, field: &str) -> Vec<u8> {
    format!("vla1|{session_id}|{sk}|{field}").into_bytes()
}

/// The associated data of a turn's content: its session, item and also its
/// role, so a stored `user` turn cannot be turned into a `system` one.
pub fn content_aad(session_id: &str, sk: &str, role: &str) -> Vec<u8> {
    aad(session_id, sk, &format!("content:{role}"))
}

fn random(buf: &mut [u8]) -> Result<(), ApiError> {
    aws_lc_rs::rand::fill(buf).map_err(|_| ApiError::Internal)
}

impl DataKey {
    /// A new random key, with its plaintext bytes (to be wrapped by KMS).
    pub fn generate() -> Result<(DataKey, [u8; 32]), ApiError> {
        let mut bytes = [0u8; 32];
        random(&mut bytes)?;
        Ok((DataKey::from_bytes(&bytes)?, bytes))
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<DataKey, ApiError> {
        let unbound = UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| ApiError::Integrity)?;
        Ok(DataKey(LessSafeKey::new(unbound)))
    }

    /// Seals `plaintext` bound to `aad`: `nonce || ciphertext || tag`.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, ApiError> {
        let mut nonce = [0u8; NONCE_LEN];
        random(&mut nonce)?;
        let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + 16);
        out.extend_from_slice(&nonce);
        let mut body = plaintext.to_vec();
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut body,
            )
            .map_err(|_| ApiError::Internal)?;
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Opens what [`DataKey::seal`] made with the same `aad`.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, OpenError> {
        if sealed.len() < OVERHEAD {
            return Err(OpenError);
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| OpenError)?;
        let mut buf = body.to_vec();
        let plain = self
            .0
            .open_in_place(nonce, Aad::from(aad), &mut buf)
            .map_err(|_| OpenError)?;
        let n = plain.len();
        buf.truncate(n);
        Ok(buf)
    }

    /// Seals a UTF-8 field.
    pub fn seal_str(&self, aad: &[u8], s: &str) -> Result<Vec<u8>, ApiError> {
        self.seal(aad, s.as_bytes())
    }

    /// Opens a UTF-8 field.
    pub fn open_str(&self, aad: &[u8], sealed: &[u8]) -> Result<String, OpenError> {
        String::from_utf8(self.open(aad, sealed)?).map_err(|_| OpenError)
    }
}

struct Entry {
    user_id: String,
    wrapped: Vec<u8>,
    key: Arc<OnceCell<Arc<DataKey>>>,
}

/// Wraps and unwraps data keys with KMS and caches unwrapped keys (bounded,
/// oldest evicted first).
pub struct KeyManager {
    kms: aws_sdk_kms::Client,
    key_id: String,
    capacity: usize,
    cache: Mutex<(HashMap<String, Entry>, VecDeque<String>)>,
}

impl KeyManager {
    pub fn new(kms: aws_sdk_kms::Client, key_id: String, capacity: usize) -> Self {
        KeyManager {
            kms,
            key_id,
            capacity: capacity.max(1),
            cache: Mutex::new((HashMap::new(), VecDeque::new())),
        }
    }

    fn context(session_id: &str, user_id: &str) -> HashMap<String, String> {
        HashMap::from([
            ("sessionId".to_string(), session_id.to_string()),
            ("userId".to_string(), user_id.to_string()),
        ])
    }

    /// Makes a data key for a new session: returns the key and its wrapped
    /// form (to store). The key is cached, so the creating container never
    /// calls `kms:Decrypt` for it.
    pub async fn new_session_key(
        &self,
        session_id: &str,
        user_id: &str,
    ) -> Result<(Arc<DataKey>, Vec<u8>), ApiError> {
        let (key, bytes) = DataKey::generate()?;
        let out = self
            .kms
            .encrypt()
            .key_id(&self.key_id)
            .plaintext(Blob::new(bytes.to_vec()))
            .set_encryption_context(Some(Self::context(session_id, user_id)))
            .send()
            .await
            .map_err(|e| ApiError::from(classify("kms:Encrypt", &e)))?;
        let wrapped = out
            .ciphertext_blob
            .map(Blob::into_inner)
            .ok_or(ApiError::Internal)?;
        let key = Arc::new(key);
        let cell = Arc::new(OnceCell::new_with(Some(key.clone())));
        self.insert(session_id, user_id, &wrapped, cell);
        Ok((key, wrapped))
    }

    /// The session's data key: from the cache, or unwrapped with KMS once.
    pub async fn session_key(
        &self,
        session_id: &str,
        user_id: &str,
        wrapped: &[u8],
    ) -> Result<Arc<DataKey>, ApiError> {
        let cell = {
            let guard = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            match guard.0.get(session_id) {
                Some(e) if e.user_id == user_id && e.wrapped == wrapped => e.key.clone(),
                _ => {
                    drop(guard);
                    let cell = Arc::new(OnceCell::new());
                    self.insert(session_id, user_id, wrapped, cell.clone());
                    cell
                }
            }
        };
        let key = cell
            .get_or_try_init(|| async {
                let out = self
                    .kms
                    .decrypt()
                    .key_id(&self.key_id)
                    .ciphertext_blob(Blob::new(wrapped.to_vec()))
                    .set_encryption_context(Some(Self::context(session_id, user_id)))
                    .send()
                    .await
                    .map_err(|e| {
                        let d = classify("kms:Decrypt", &e);
                        match d {
                            DependencyError::Permanent { ref code, .. }
                                if code == "InvalidCiphertextException" =>
                            {
                                tracing::error!(
                                    event = "integrity",
                                    "the wrapped data key did not unwrap"
                                );
                                ApiError::Integrity
                            }
                            d => ApiError::from(d),
                        }
                    })?;
                let plain = out.plaintext.ok_or(ApiError::Internal)?;
                DataKey::from_bytes(plain.as_ref()).map(Arc::new)
            })
            .await?;
        Ok(key.clone())
    }

    /// Drops a session's key (after the session is deleted).
    pub fn forget(&self, session_id: &str) {
        let mut guard = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        guard.0.remove(session_id);
        guard.1.retain(|s| s != session_id);
    }

    /// How many keys are cached.
    pub fn cached(&self) -> usize {
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).0.len()
    }

    fn insert(
        &self,
        session_id: &str,
        user_id: &str,
        wrapped: &[u8],
        key: Arc<OnceCell<Arc<DataKey>>>,
    ) {
        let mut guard = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let (map, order) = &mut *guard;
        if map.contains_key(session_id) {
            order.retain(|s| s != session_id);
        }
        while map.len() >= self.capacity && !map.contains_key(session_id) {
            match order.pop_front() {
                Some(old) => {
                    map.remove(&old);
                }
                None => break,
            }
        }
        map.insert(
            session_id.to_string(),
            Entry {
                user_id: user_id.to_string(),
                wrapped: wrapped.to_vec(),
                key,
            },
        );
        order.push_back(session_id.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_and_aad_binding() {
        let (k, _) = DataKey::generate().unwrap();
        let a = aad("s1", "TURN#0000000001", "content");
        let sealed = k.seal_str(&a, "What is a closure?").unwrap();
        assert_eq!(sealed.len(), "What is a closure?".len() + OVERHEAD);
        assert_eq!(k.open_str(&a, &sealed).unwrap(), "What is a closure?");
        assert!(k
            .open_str(&aad("s2", "TURN#0000000001", "content"), &sealed)
            .is_err());
        assert!(k
            .open_str(&aad("s1", "TURN#0000000002", "content"), &sealed)
            .is_err());
        assert!(k.open_str(&a, &sealed[..10]).is_err());
        let mut tampered = sealed.clone();
        tampered[20] ^= 1;
        assert!(k.open_str(&a, &tampered).is_err());
        let c = content_aad("s1", "TURN#0000000001", "user");
        let sealed_turn = k.seal_str(&c, "hi").unwrap();
        assert!(k
            .open_str(
                &content_aad("s1", "TURN#0000000001", "system"),
                &sealed_turn
            )
            .is_err());
        assert_eq!(k.open_str(&c, &sealed_turn).unwrap(), "hi");
        let (other, _) = DataKey::generate().unwrap();
        assert!(other.open_str(&a, &sealed).is_err());
    }
}
