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
//! attribute, or a turn whose role was changed, fails to open. From the
//! session's first `clear` on, the associated data also ends in `|g<N>`,
//! the session's generation, so what was sealed before a `clear` never opens
//! after it (generation 0 keeps the original format: existing data opens).
//!
//! The key bytes this code holds are in `Zeroizing` buffers (wiped on
//! drop); the SDK's own request and response buffers (the plaintext KMS
//! returns, the copy `kms:Encrypt` sends) are not, and stay in freed memory
//! until it is reused. Cached keys older than `KEY_CACHE_MAX_AGE_SECONDS`
//! are dropped on every cache access, looked up or not, and unwrapped
//! again when needed.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::{hkdf, hmac};
use aws_sdk_kms::primitives::Blob;
use tokio::sync::OnceCell;
use zeroize::Zeroizing;

use crate::error::{classify, ApiError, DependencyError};
use crate::time::Clock;

/// Bytes added to every sealed field (nonce and tag).
pub const OVERHEAD: usize = NONCE_LEN + 16;

/// A session's unwrapped data key: the AES-GCM key and, derived from it, the
/// HMAC key of turn digests.
pub struct DataKey {
    aead: LessSafeKey,
    mac: hmac::Key,
}

/// Bytes of a stored turn digest (HMAC-SHA256, truncated).
pub const DIGEST_LEN: usize = 16;

/// The prefix of this release's turn digests (turn id, role, content),
/// which keeps them apart from the earlier role-and-content ones.
const TURN_DIGEST_V2: &[u8] = b"v2\0";

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

/// The associated data binding a field to its session, item and the
/// session's generation (bumped by every `clear`).
pub fn aad(session_id: &str, sk: &str, field: &str, generation: u64) -> Vec<u8> {
    if generation == 0 {
        format!("vla1|{session_id}|{sk}|{field}").into_bytes()
    } else {
        format!("vla1|{session_id}|{sk}|{field}|g{generation}").into_bytes()
    }
}

/// The associated data of a turn's content: its session, item, generation
/// and also its role, so a stored `user` turn cannot be turned into a
/// `system` one.
pub fn content_aad(session_id: &str, sk: &str, role: &str, generation: u64) -> Vec<u8> {
    aad(session_id, sk, &format!("content:{role}"), generation)
}

fn random(buf: &mut [u8]) -> Result<(), ApiError> {
    aws_lc_rs::rand::fill(buf).map_err(|_| ApiError::Internal)
}

impl DataKey {
    /// A new random key, with its plaintext bytes (to be wrapped by KMS;
    /// wiped when dropped).
    pub fn generate() -> Result<(DataKey, Zeroizing<[u8; 32]>), ApiError> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        random(bytes.as_mut())?;
        Ok((DataKey::from_bytes(bytes.as_ref())?, bytes))
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<DataKey, ApiError> {
        let unbound = UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| ApiError::Integrity)?;
        // A separate key for digests (HKDF with its own label), so the AES
        // key is used for nothing else.
        let mac = hkdf::Salt::new(hkdf::HKDF_SHA256, b"")
            .extract(bytes)
            .expand(&[b"vla1|turn-digest"], hmac::HMAC_SHA256)
            .map(hmac::Key::from)
            .map_err(|_| ApiError::Internal)?;
        Ok(DataKey {
            aead: LessSafeKey::new(unbound),
            mac,
        })
    }

    /// The keyed digest of a turn: stored with the turn so a retried
    /// `turnId` can be compared without decrypting, and without revealing
    /// anything to whoever reads the table. The `turnId` is part of it, so
    /// two turns with the same role and content do not show as equal.
    pub fn turn_digest(&self, turn_id: &str, role: &str, content: &str) -> Vec<u8> {
        let mut ctx = hmac::Context::with_key(&self.mac);
        ctx.update(TURN_DIGEST_V2);
        for part in [turn_id, role] {
            ctx.update(part.as_bytes());
            ctx.update(&[0]);
        }
        ctx.update(content.as_bytes());
        ctx.sign().as_ref()[..DIGEST_LEN].to_vec()
    }

    /// The digest earlier releases stored: role and content only.
    pub fn turn_digest_v1(&self, role: &str, content: &str) -> Vec<u8> {
        let mut ctx = hmac::Context::with_key(&self.mac);
        ctx.update(role.as_bytes());
        ctx.update(&[0]);
        ctx.update(content.as_bytes());
        ctx.sign().as_ref()[..DIGEST_LEN].to_vec()
    }

    /// Whether a stored digest (this release's, or the role-and-content
    /// digest earlier releases wrote) is that of this turn.
    pub fn digest_matches(&self, stored: &[u8], turn_id: &str, role: &str, content: &str) -> bool {
        stored == self.turn_digest(turn_id, role, content).as_slice()
            || stored == self.turn_digest_v1(role, content).as_slice()
    }

    /// Seals `plaintext` bound to `aad`: `nonce || ciphertext || tag`.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, ApiError> {
        let mut nonce = [0u8; NONCE_LEN];
        random(&mut nonce)?;
        let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + 16);
        out.extend_from_slice(&nonce);
        let mut body = plaintext.to_vec();
        self.aead
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
            .aead
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
    /// When the entry was made (clock milliseconds).
    made_ms: u64,
    key: Arc<OnceCell<Arc<DataKey>>>,
}

/// Wraps and unwraps data keys with KMS and caches unwrapped keys (bounded,
/// oldest evicted first, none older than the maximum age).
pub struct KeyManager {
    kms: aws_sdk_kms::Client,
    key_id: String,
    capacity: usize,
    max_age_ms: u64,
    clock: Clock,
    cache: Mutex<(HashMap<String, Entry>, VecDeque<String>)>,
}

impl KeyManager {
    pub fn new(
        kms: aws_sdk_kms::Client,
        key_id: String,
        capacity: usize,
        max_age_ms: u64,
        clock: Clock,
    ) -> Self {
        KeyManager {
            kms,
            key_id,
            capacity: capacity.max(1),
            max_age_ms,
            clock,
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
            // The SDK gets its own copy for the request; ours is wiped on drop.
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
        let now = (self.clock)();
        let cell = {
            let mut guard = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            self.evict_expired(&mut guard, now);
            match guard.0.get(session_id) {
                Some(e)
                    if e.user_id == user_id
                        && e.wrapped == wrapped
                        && now.saturating_sub(e.made_ms) < self.max_age_ms =>
                {
                    e.key.clone()
                }
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
                let plain = Zeroizing::new(out.plaintext.ok_or(ApiError::Internal)?.into_inner());
                DataKey::from_bytes(&plain).map(Arc::new)
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

    /// Drops every key older than the maximum age, not only the one looked
    /// up: entries are in the order they were made (`insert` appends), so
    /// the expired ones are at the front.
    fn evict_expired(&self, cache: &mut (HashMap<String, Entry>, VecDeque<String>), now: u64) {
        let (map, order) = cache;
        while let Some(front) = order.front() {
            let expired = map
                .get(front)
                .is_none_or(|e| now.saturating_sub(e.made_ms) >= self.max_age_ms);
            if !expired {
                break;
            }
            if let Some(old) = order.pop_front() {
                map.remove(&old);
            }
        }
    }

    fn insert(
        &self,
        session_id: &str,
        user_id: &str,
        wrapped: &[u8],
        key: Arc<OnceCell<Arc<DataKey>>>,
    ) {
        let mut guard = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        self.evict_expired(&mut guard, (self.clock)());
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
                made_ms: (self.clock)(),
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
        let a = aad("s1", "TURN#0000000001", "content", 0);
        let sealed = k.seal_str(&a, "What is a closure?").unwrap();
        assert_eq!(sealed.len(), "What is a closure?".len() + OVERHEAD);
        assert_eq!(k.open_str(&a, &sealed).unwrap(), "What is a closure?");
        assert!(k
            .open_str(&aad("s2", "TURN#0000000001", "content", 0), &sealed)
            .is_err());
        assert!(k
            .open_str(&aad("s1", "TURN#0000000002", "content", 0), &sealed)
            .is_err());
        assert!(k.open_str(&a, &sealed[..10]).is_err());
        let mut tampered = sealed.clone();
        tampered[20] ^= 1;
        assert!(k.open_str(&a, &tampered).is_err());
        let c = content_aad("s1", "TURN#0000000001", "user", 0);
        let sealed_turn = k.seal_str(&c, "hi").unwrap();
        assert!(k
            .open_str(
                &content_aad("s1", "TURN#0000000001", "system", 0),
                &sealed_turn
            )
            .is_err());
        assert_eq!(k.open_str(&c, &sealed_turn).unwrap(), "hi");
        let (other, _) = DataKey::generate().unwrap();
        assert!(other.open_str(&a, &sealed).is_err());
        // Sealed in one generation, it does not open in the next.
        let g1 = content_aad("s1", "TURN#0000000001", "user", 1);
        let sealed_g1 = k.seal_str(&g1, "hi").unwrap();
        assert!(k
            .open_str(&content_aad("s1", "TURN#0000000001", "user", 2), &sealed_g1)
            .is_err());
        assert!(k.open_str(&c, &sealed_g1).is_err());
    }

    #[test]
    fn digests_are_keyed_and_separate_turn_id_role_and_content() {
        let (k, _) = DataKey::generate().unwrap();
        let d = k.turn_digest("t1", "user", "hi");
        assert_eq!(d.len(), DIGEST_LEN);
        assert_eq!(d, k.turn_digest("t1", "user", "hi"));
        assert_ne!(d, k.turn_digest("t1", "system", "hi"));
        assert_ne!(d, k.turn_digest("t1", "user", "hi!"));
        // Equal turns under two turn ids are not visibly equal.
        assert_ne!(d, k.turn_digest("t2", "user", "hi"));
        assert_ne!(
            k.turn_digest("t", "1user", "hi"),
            k.turn_digest("t1", "user", "hi")
        );
        let (other, _) = DataKey::generate().unwrap();
        assert_ne!(d, other.turn_digest("t1", "user", "hi"));
        assert!(k.digest_matches(&d, "t1", "user", "hi"));
        assert!(!k.digest_matches(&d, "t2", "user", "hi"));
        assert!(!k.digest_matches(&d, "t1", "user", "hi!"));
    }

    /// A digest the previous release stored (role and content only, for
    /// the data key of 32 bytes 0x07): still recognised, and only for the
    /// same role and content.
    #[test]
    fn a_digest_the_previous_release_stored_still_matches() {
        const STORED_V1: &str = "76f6e73a62af5e6b9d59f27e4f8aa9b7";
        let stored: Vec<u8> = (0..STORED_V1.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&STORED_V1[i..i + 2], 16).unwrap())
            .collect();
        let k = DataKey::from_bytes(&[7u8; 32]).unwrap();
        assert!(k.digest_matches(&stored, "any-turn-id", "user", "Hola, ¿qué tal?"));
        assert!(!k.digest_matches(&stored, "any-turn-id", "assistant", "Hola, ¿qué tal?"));
        assert!(!k.digest_matches(&stored, "any-turn-id", "user", "Hola"));
        assert_ne!(
            stored,
            k.turn_digest("any-turn-id", "user", "Hola, ¿qué tal?")
        );
    }
}
