//! The glibc check on hand-made ELF files and on a real binary.

use lambda_package::elf::{check_binary, read};
use lambda_package::Arch;

/// A minimal ELF64 with a `.gnu.version_r` needing the given versions.
fn fake_elf(machine: u16, needs: &[&str]) -> Vec<u8> {
    let mut strtab = vec![0u8];
    let libc_off = strtab.len() as u32;
    strtab.extend_from_slice(b"libc.so.6\0");
    let mut name_offs = vec![];
    for n in needs {
        name_offs.push(strtab.len() as u32);
        strtab.extend_from_slice(n.as_bytes());
        strtab.push(0);
    }
    // verneed: one entry (16 bytes) then its aux entries (16 bytes each).
    let mut vr = vec![];
    vr.extend_from_slice(&1u16.to_le_bytes());
    vr.extend_from_slice(&(needs.len() as u16).to_le_bytes());
    vr.extend_from_slice(&libc_off.to_le_bytes());
    vr.extend_from_slice(&16u32.to_le_bytes());
    vr.extend_from_slice(&0u32.to_le_bytes());
    for (i, off) in name_offs.iter().enumerate() {
        vr.extend_from_slice(&0u32.to_le_bytes());
        vr.extend_from_slice(&0u16.to_le_bytes());
        vr.extend_from_slice(&(i as u16 + 2).to_le_bytes());
        vr.extend_from_slice(&off.to_le_bytes());
        let next: u32 = if i + 1 < name_offs.len() { 16 } else { 0 };
        vr.extend_from_slice(&next.to_le_bytes());
    }
    let strtab_off = 64usize;
    let vr_off = strtab_off + strtab.len();
    let shoff = vr_off + vr.len();
    let mut b = vec![0u8; 64];
    b[..4].copy_from_slice(b"\x7fELF");
    b[4] = 2; // ELFCLASS64
    b[5] = 1; // little endian
    b[6] = 1; // EV_CURRENT
    b[18..20].copy_from_slice(&machine.to_le_bytes());
    b[40..48].copy_from_slice(&(shoff as u64).to_le_bytes());
    b[58..60].copy_from_slice(&64u16.to_le_bytes());
    b[60..62].copy_from_slice(&3u16.to_le_bytes());
    b[62..64].copy_from_slice(&1u16.to_le_bytes()); // section names: the strtab
    b.extend_from_slice(&strtab);
    b.extend_from_slice(&vr);
    let sh = |kind: u32, off: usize, size: usize, link: u32, info: u32| {
        let mut s = vec![0u8; 64];
        s[4..8].copy_from_slice(&kind.to_le_bytes());
        s[24..32].copy_from_slice(&(off as u64).to_le_bytes());
        s[32..40].copy_from_slice(&(size as u64).to_le_bytes());
        s[40..44].copy_from_slice(&link.to_le_bytes());
        s[44..48].copy_from_slice(&info.to_le_bytes());
        s
    };
    b.extend(sh(0, 0, 0, 0, 0));
    b.extend(sh(3, strtab_off, strtab.len(), 0, 0));
    b.extend(sh(0x6fff_fffe, vr_off, vr.len(), 1, 1));
    b
}

#[test]
fn reads_glibc_version_needs() {
    let b = fake_elf(62, &["GLIBC_2.2.5", "GLIBC_2.34", "GLIBC_2.17"]);
    let info = read(&b).unwrap();
    assert_eq!(info.machine, 62);
    assert_eq!(info.glibc_versions, vec![(2, 2), (2, 17), (2, 34)]);
    check_binary(&b, Arch::X86_64).unwrap();
}

#[test]
fn too_new_glibc_is_a_clear_error() {
    let b = fake_elf(62, &["GLIBC_2.17", "GLIBC_2.38"]);
    let e = format!("{:#}", check_binary(&b, Arch::X86_64).unwrap_err());
    assert!(
        e.contains("GLIBC_2.38") && e.contains("2.34") && e.contains("cargo-zigbuild"),
        "{e}"
    );
    assert!(!e.contains("GLIBC_2.17"), "{e}");
}

#[test]
fn wrong_machine_is_rejected() {
    let b = fake_elf(62, &["GLIBC_2.17"]);
    assert!(check_binary(&b, Arch::Arm64).is_err());
    assert!(read(b"#!/bin/sh\n").is_err());
}

#[test]
fn reads_a_real_binary() {
    // This test binary itself is a dynamically linked glibc ELF.
    let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
    let info = read(&me).unwrap();
    assert!(info.glibc_versions.iter().any(|(a, _)| *a == 2), "{info:?}");
}

/// A zip's bootstrap is checked against the architecture it is deployed for.
#[test]
fn a_zip_for_the_other_architecture_is_refused() {
    use lambda_package::archive::reproducible_zip;
    use lambda_package::artifact::check_zip;
    let dir = std::env::temp_dir().join(format!("lp-check-zip-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let x86 = dir.join("x86.zip");
    std::fs::write(
        &x86,
        reproducible_zip(&fake_elf(62, &["GLIBC_2.17"])).unwrap(),
    )
    .unwrap();
    let e = check_zip(&x86, Arch::Arm64).unwrap_err().to_string();
    assert!(
        e.contains("built for x86_64") && e.contains("run on arm64") && e.contains("x86.zip"),
        "{e}"
    );
    check_zip(&x86, Arch::X86_64).unwrap();
    // A script bootstrap runs on either.
    let script = dir.join("script.zip");
    std::fs::write(&script, reproducible_zip(b"#!/bin/sh\necho hi\n").unwrap()).unwrap();
    check_zip(&script, Arch::Arm64).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
