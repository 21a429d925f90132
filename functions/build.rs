//! Writes the public roots (webpki-root-certs: Mozilla's root program, the
//! set browsers trust) as one PEM bundle into `OUT_DIR`, which `tls.rs`
//! compiles in: the functions' default trust store costs no file I/O and no
//! encoding at init.

use base64::Engine;
use std::fmt::Write;

fn main() {
    let mut pem = String::new();
    for cert in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
        let b64 = base64::engine::general_purpose::STANDARD.encode(cert.as_ref());
        pem.push_str("-----BEGIN CERTIFICATE-----\n");
        for line in b64.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
    }
    let out = std::path::Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("public_roots.pem");
    std::fs::write(&out, pem).expect("writing the public roots");
    let mut count = String::new();
    let _ = write!(count, "{}", webpki_root_certs::TLS_SERVER_ROOT_CERTS.len());
    std::fs::write(out.with_file_name("public_roots.count"), count).expect("writing the count");
    println!("cargo::rerun-if-changed=build.rs");
}
