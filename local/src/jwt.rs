//! The local "user pool": an RS256 signing key kept under `.dev/`, its JWKS,
//! dev tokens shaped like Cognito's ID tokens, and the JWT authorizer with
//! API Gateway's and Cognito's rules.
use crate::error::{bail, Context, LocalError, Result};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::KeyPair as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{json, Map, Value};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

pub const KEY_FILE: &str = "jwt-signing-key.pem";

/// The local RS256 signing key and its public half.
pub struct SigningKey {
    encoding: EncodingKey,
    pub kid: String,
    n: Vec<u8>,
    e: Vec<u8>,
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn unpem(text: &str) -> Result<Vec<u8>> {
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(body.trim()).context("decoding the key")
}

pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl SigningKey {
    /// Loads `<dir>/jwt-signing-key.pem`, making a 2048-bit key the first time.
    pub fn load_or_create(dir: &Path) -> Result<Self> {
        let path = dir.join(KEY_FILE);
        let der = match std::fs::read_to_string(&path) {
            Ok(text) => unpem(&text).with_context(|| format!("reading {}", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
                let kp = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                    .map_err(|_| {
                        LocalError::Message("generating the RSA signing key failed".into())
                    })?;
                let der = kp
                    .as_der()
                    .map_err(|_| LocalError::Message("encoding the RSA signing key failed".into()))?
                    .as_ref()
                    .to_vec();
                write_private(&path, pem("PRIVATE KEY", &der).as_bytes())?;
                der
            }
            Err(e) => return Err(e).context(format!("reading {}", path.display())),
        };
        Self::from_pkcs8(&der)
    }

    pub fn from_pkcs8(der: &[u8]) -> Result<Self> {
        let kp = aws_lc_rs::rsa::KeyPair::from_pkcs8(der)
            .map_err(|e| LocalError::Message(format!("bad RSA key: {e}")))?;
        let public = kp.public_key();
        let n = public.modulus().big_endian_without_leading_zero().to_vec();
        let e = public.exponent().big_endian_without_leading_zero().to_vec();
        let encoding = EncodingKey::from_rsa_pem(pem("PRIVATE KEY", der).as_bytes())
            .context("loading the RSA signing key")?;
        let kid = lambda_package::hex(
            &lambda_package::digest::sha256(&[n.as_slice(), e.as_slice()].concat())[..8],
        );
        Ok(SigningKey {
            encoding,
            kid,
            n,
            e,
        })
    }

    /// The JWKS document (Cognito's `/.well-known/jwks.json` shape).
    pub fn jwks(&self) -> Value {
        json!({"keys": [{
            "alg": "RS256",
            "e": URL_SAFE_NO_PAD.encode(&self.e),
            "kid": self.kid,
            "kty": "RSA",
            "n": URL_SAFE_NO_PAD.encode(&self.n),
            "use": "sig",
        }]})
    }

    /// Signs `claims` with this key (RS256, with `kid`).
    pub fn sign(&self, claims: &Value) -> Result<String> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        header.typ = None;
        jsonwebtoken::encode(&header, claims, &self.encoding).context("signing the token")
    }

    /// A Cognito-style ID token for `sub`, valid for `ttl_secs`, listing
    /// `groups` in `cognito:groups` (as Cognito does for a user in groups).
    pub fn id_token(
        &self,
        issuer: &str,
        client_id: &str,
        sub: &str,
        ttl_secs: u64,
        groups: &[String],
    ) -> Result<String> {
        self.cognito_token(
            issuer,
            sub,
            ttl_secs,
            groups,
            json!({
                "aud": client_id,
                "token_use": "id",
                "cognito:username": sub,
                "email": format!("{sub}@example.com"),
                "email_verified": true,
            }),
        )
    }

    /// A Cognito-style access token for `sub`: `client_id` instead of
    /// `aud`, the granted `scopes` space-separated in `scope`, the groups in
    /// `cognito:groups` (as Cognito issues them for a user's sign-in).
    pub fn access_token(
        &self,
        issuer: &str,
        client_id: &str,
        sub: &str,
        ttl_secs: u64,
        groups: &[String],
        scopes: &[String],
    ) -> Result<String> {
        self.cognito_token(
            issuer,
            sub,
            ttl_secs,
            groups,
            json!({
                "client_id": client_id,
                "token_use": "access",
                "scope": scopes.join(" "),
                "username": sub,
            }),
        )
    }

    /// The claims both kinds of token carry, with `specific` added.
    fn cognito_token(
        &self,
        issuer: &str,
        sub: &str,
        ttl_secs: u64,
        groups: &[String],
        specific: Value,
    ) -> Result<String> {
        let now = now_secs();
        let mut claims = json!({
            "sub": sub,
            "iss": issuer,
            "auth_time": now,
            "iat": now,
            "exp": now + ttl_secs,
            "jti": crate::ids::uuid(),
            "event_id": crate::ids::uuid(),
        });
        if let (Value::Object(c), Value::Object(add)) = (&mut claims, specific) {
            c.extend(add);
        }
        if !groups.is_empty() {
            claims["cognito:groups"] = json!(groups);
        }
        self.sign(&claims)
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("writing {}", tmp.display()))?;
    f.write_all(bytes)
        .with_context(|| format!("writing {}", tmp.display()))?;
    drop(f);
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Why a request was refused (the `error_description` API Gateway sends).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection(pub String);

/// The JWT authorizer of a route.
pub struct Authorizer {
    pub issuer: String,
    pub audience: Vec<String>,
    pub header: String,
    keys: Vec<(String, DecodingKey)>,
}

impl Authorizer {
    /// Trusts the keys of a JWKS document.
    pub fn new(spec: &crate::model::JwtSpec, jwks: &Value) -> Result<Self> {
        let mut keys = vec![];
        for k in jwks["keys"].as_array().context("JWKS has no keys")? {
            let (Some(kid), Some(n), Some(e)) =
                (k["kid"].as_str(), k["n"].as_str(), k["e"].as_str())
            else {
                bail!("JWKS key without kid, n or e");
            };
            keys.push((
                kid.to_string(),
                DecodingKey::from_rsa_components(n, e).context("reading a JWKS key")?,
            ));
        }
        Ok(Authorizer {
            issuer: spec.issuer.clone(),
            audience: spec.audience.clone(),
            header: spec.identity_header.clone(),
            keys,
        })
    }

    /// Validates the identity source's value; on success, the token's claims.
    pub fn authorize(&self, value: Option<&str>) -> Result<Map<String, Value>, Rejection> {
        let reject = |m: &str| Err(Rejection(m.to_string()));
        let Some(raw) = value.map(str::trim).filter(|v| !v.is_empty()) else {
            return reject("no token in the identity source");
        };
        let token = match raw.split_once(' ') {
            Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") => t.trim(),
            Some(_) => return reject("the token is not a JWT"),
            None => raw,
        };
        let header = match jsonwebtoken::decode_header(token) {
            Ok(h) => h,
            Err(_) => return reject("the token is not a valid JWT"),
        };
        if header.alg != Algorithm::RS256 {
            return reject("the token's algorithm is not RS256");
        }
        let Some(kid) = header.kid.as_deref() else {
            return reject("the token has no kid");
        };
        let Some((_, key)) = self.keys.iter().find(|(k, _)| k == kid) else {
            return reject("the token's kid is not in the JWKS");
        };
        let mut v = Validation::new(Algorithm::RS256);
        v.leeway = 0;
        v.validate_exp = true;
        v.validate_nbf = true;
        v.validate_aud = false; // aud or client_id, checked below
        v.set_issuer(&[self.issuer.as_str()]);
        v.set_required_spec_claims(&["exp", "iss"]);
        let claims = match jsonwebtoken::decode::<Map<String, Value>>(token, key, &v) {
            Ok(d) => d.claims,
            Err(e) => {
                use jsonwebtoken::errors::ErrorKind as K;
                return reject(match e.kind() {
                    K::ExpiredSignature => "the token has expired",
                    K::ImmatureSignature => "the token is not valid yet",
                    K::InvalidIssuer => "the token's issuer is not trusted",
                    K::InvalidSignature => "the token's signature is invalid",
                    K::MissingRequiredClaim(_) => "the token lacks exp or iss",
                    _ => "the token is invalid",
                });
            }
        };
        // As API Gateway's JWT authorizer: `iat`, when present, not in the
        // future; `aud` must match an audience, and `client_id` only when
        // there is no `aud`; `token_use` is not checked
        // (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html).
        if claims
            .get("iat")
            .and_then(Value::as_u64)
            .is_some_and(|iat| iat > now_secs())
        {
            return reject("the token was issued in the future");
        }
        let (claim, audiences): (&str, Vec<&str>) = match claims.get("aud") {
            Some(Value::String(s)) => ("aud", vec![s.as_str()]),
            Some(Value::Array(a)) => ("aud", a.iter().filter_map(Value::as_str).collect()),
            _ => match claims.get("client_id") {
                Some(Value::String(s)) => ("client_id", vec![s.as_str()]),
                _ => ("aud", vec![]),
            },
        };
        if !audiences
            .iter()
            .any(|a| self.audience.iter().any(|x| x == a))
        {
            return reject(if claim == "aud" {
                "the token's aud is not an allowed audience"
            } else {
                "the token's client_id is not an allowed audience"
            });
        }
        Ok(claims)
    }
}

/// A token lifetime in whole seconds: positive, at most a year (Cognito's
/// own cap is a day).
pub fn check_ttl(ttl: std::time::Duration) -> Result<u64> {
    const MAX_SECS: u64 = 366 * 86400;
    match ttl.as_secs() {
        0 => bail!("the token lifetime must be at least 1s"),
        s if s > MAX_SECS => bail!("the token lifetime is too long: at most 366d"),
        s => Ok(s),
    }
}
