//! The HTTPS client the functions call DynamoDB and KMS with, and the roots
//! it trusts.
//!
//! By default the SDK loads the operating system's trust store when its
//! configuration is loaded: it reads the CA bundle and every file of
//! `/etc/ssl/certs`, about 3 ms of each cold start on the bench machine (the
//! `aws_config_us` phase of the `init` log line). The functions only ever
//! talk to AWS endpoints, so they trust a compiled-in set:
//!
//! - `amazon` (the default): exactly the five roots Amazon recommends for a
//!   custom trust store ("For relying parties that make use of custom trust
//!   stores we recommend that all five of the above roots be included",
//!   https://www.amazontrust.com/repository/; DynamoDB and the other AWS
//!   endpoints moved to those certificates,
//!   https://aws.amazon.com/blogs/security/how-to-prepare-for-aws-move-to-its-own-certificate-authority/),
//!   compiled in from `functions/certs/` and checked against the
//!   repository's published key hashes by a test.
//! - `public`: the public roots browsers trust (Mozilla's root program, as
//!   the `webpki-root-certs` crate packages it), written as one PEM bundle
//!   at build time (`build.rs`), for an endpoint that does not chain to
//!   Amazon's roots (no AWS document promises every one does). It reads no
//!   file, but the SDK parses its 112 certificates each time it builds a
//!   connector at init: measured 2-4 ms more per cold start, which is why
//!   it is not the default.
//! - `system`: the operating system's store (a private CA, an endpoint
//!   behind a TLS-inspecting proxy).
//!
//! The choice is the stack parameter `TlsTrustStore` (the functions'
//! `TLS_TRUST_STORE`); an endpoint the store refuses raises an alarm.

use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// Which roots the functions' HTTPS client trusts (`TLS_TRUST_STORE`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Trust {
    /// Amazon Root CA 1–4 and Starfield Services Root CA G2 (`amazon`, the
    /// default).
    #[default]
    Amazon,
    /// The public roots browsers trust (`public`).
    Public,
    /// The operating system's store (`system`).
    System,
}

impl Trust {
    /// Every value `TLS_TRUST_STORE` takes, the default first (the stack
    /// parameter's allowed values).
    pub const NAMES: [&'static str; 3] = ["amazon", "public", "system"];

    /// `public`, `amazon` or `system`; `None` for anything else.
    pub fn parse(value: &str) -> Option<Trust> {
        match value.trim() {
            "public" => Some(Trust::Public),
            "amazon" => Some(Trust::Amazon),
            "system" => Some(Trust::System),
            _ => None,
        }
    }
}

/// The public roots as one PEM bundle (`build.rs`), and how many there are.
pub const PUBLIC_ROOTS_PEM: &str = include_str!(concat!(env!("OUT_DIR"), "/public_roots.pem"));
pub const PUBLIC_ROOTS_COUNT: &str = include_str!(concat!(env!("OUT_DIR"), "/public_roots.count"));

/// Amazon Trust Services' root certificates, PEM, in the repository's order.
pub const AMAZON_ROOTS: [(&str, &str); 5] = [
    (
        "Amazon Root CA 1",
        include_str!("../certs/AmazonRootCA1.pem"),
    ),
    (
        "Amazon Root CA 2",
        include_str!("../certs/AmazonRootCA2.pem"),
    ),
    (
        "Amazon Root CA 3",
        include_str!("../certs/AmazonRootCA3.pem"),
    ),
    (
        "Amazon Root CA 4",
        include_str!("../certs/AmazonRootCA4.pem"),
    ),
    (
        "Starfield Services Root Certificate Authority - G2",
        include_str!("../certs/SFSRootCAG2.pem"),
    ),
];

/// The SDK's own HTTPS client (hyper, rustls with aws-lc) trusting `trust`.
pub fn http_client(trust: Trust) -> SharedHttpClient {
    let store = match trust {
        Trust::System => TrustStore::default(),
        Trust::Public => TrustStore::empty().with_pem_certificate(PUBLIC_ROOTS_PEM.as_bytes()),
        Trust::Amazon => AMAZON_ROOTS
            .iter()
            .fold(TrustStore::empty(), |store, (_, pem)| {
                store.with_pem_certificate(pem.as_bytes())
            }),
    };
    let context = TlsContext::builder()
        .with_trust_store(store)
        .build()
        .expect("a trust store without extra server names is always valid");
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(context)
        .build_https()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The public bundle holds every root of webpki-root-certs (more than
    /// a hundred), and Amazon's five are among them: `public` trusts what
    /// `amazon` does.
    #[test]
    fn the_public_roots_include_amazons() {
        let count: usize = PUBLIC_ROOTS_COUNT.parse().unwrap();
        assert!(count > 100, "{count}");
        assert_eq!(
            PUBLIC_ROOTS_PEM
                .matches("-----BEGIN CERTIFICATE-----")
                .count(),
            count
        );
        let body = |pem: &str| -> String {
            pem.lines()
                .filter(|l| !l.starts_with("-----"))
                .collect::<String>()
        };
        let public: Vec<String> = PUBLIC_ROOTS_PEM
            .split("-----END CERTIFICATE-----")
            .map(body)
            .collect();
        for (name, pem) in AMAZON_ROOTS {
            assert!(
                public.contains(&body(pem)),
                "{name} is not among the public roots"
            );
        }
    }

    #[test]
    fn trust_store_names() {
        assert_eq!(Trust::parse("public"), Some(Trust::Public));
        assert_eq!(Trust::default(), Trust::Amazon);
        for name in Trust::NAMES {
            assert!(Trust::parse(name).is_some(), "{name}");
        }
        assert_eq!(Trust::parse("amazon"), Some(Trust::Amazon));
        assert_eq!(Trust::parse(" system\n"), Some(Trust::System));
        assert_eq!(Trust::parse("none"), None);
        assert_eq!(Trust::parse(""), None);
    }

    /// SHA-256 of each root's SubjectPublicKeyInfo as the Amazon Trust
    /// Services repository publishes it (https://www.amazontrust.com/repository/).
    const PUBLISHED_SPKI_SHA256: [&str; 5] = [
        "fbe3018031f9586bcbf41727e417b7d1c45c2f47f93be372a17b96b50757d5a2",
        "7f4296fc5b6a4e3b35d3c369623e364ab1af381d8fa7121533c9d6c633ea2461",
        "36abc32656acfc645c61b71613c4bf21c787f5cabbee48348d58597803d7abc9",
        "f7ecded5c66047d28ed6466b543c40e0743abe81d109254dcf845d4c2c7853c5",
        "2b071c59a0a0ae76b0eadb2bad23bad4580b69c3601b630c2eaf0613afa83f92",
    ];

    /// A DER SEQUENCE around `content` (the anchor keeps only the content).
    fn der_sequence(content: &[u8]) -> Vec<u8> {
        let len = content.len();
        let mut out = vec![0x30];
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes: Vec<u8> = len
                .to_be_bytes()
                .into_iter()
                .skip_while(|b| *b == 0)
                .collect();
            out.push(0x80 | bytes.len() as u8);
            out.extend(bytes);
        }
        out.extend_from_slice(content);
        out
    }

    #[test]
    fn the_compiled_in_roots_are_amazons_published_roots() {
        use rustls_pki_types::pem::PemObject;
        use rustls_pki_types::CertificateDer;
        for ((name, pem), published) in AMAZON_ROOTS.iter().zip(PUBLISHED_SPKI_SHA256) {
            let certs: Vec<CertificateDer> = CertificateDer::pem_slice_iter(pem.as_bytes())
                .collect::<Result<_, _>>()
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(certs.len(), 1, "{name}: one certificate per file");
            // The same parse rustls does when it adds the root to its store.
            let anchor = webpki::anchor_from_trusted_cert(&certs[0])
                .unwrap_or_else(|e| panic!("{name}: {e:?}"));
            let spki = der_sequence(anchor.subject_public_key_info.as_ref());
            let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &spki);
            let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(hex, published, "{name}");
        }
    }
}
