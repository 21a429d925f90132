//! `cargo xtask build`: release-builds both functions for Lambda
//! (`provided.al2023`) and packages them as reproducible zips.
//!
//! - cargo-zigbuild when it is installed (it links against glibc 2.34 for
//!   any target); otherwise plain cargo for the host architecture, or for
//!   another one when its Rust target and a linker are installed.
//! - Every binary's ELF version needs are read: a `GLIBC_x.y` newer than 2.34
//!   (what `provided.al2023` ships) fails the build with a clear message.
//! - `target/lambda/<function name>/bootstrap` and
//!   `target/lambda/<function name>.zip`: one entry `bootstrap`, mode 0755,
//!   fixed timestamp (1980-01-01), fixed deflate level, so the same binary
//!   always gives the same zip and the same sha256.
//!
//! The contract `deploy` calls is [`build_all`], [`Artifact`] and [`Arch`].
use anyhow::{bail, Context};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Arch {
    #[default]
    Arm64,
    #[value(name = "x86_64")]
    X86_64,
}

impl Arch {
    /// The CloudFormation `Architecture` parameter value.
    pub fn lambda_name(self) -> &'static str {
        match self {
            Arch::Arm64 => "arm64",
            Arch::X86_64 => "x86_64",
        }
    }

    /// The Rust target triple for Lambda on this architecture.
    pub fn triple(self) -> &'static str {
        match self {
            Arch::Arm64 => "aarch64-unknown-linux-gnu",
            Arch::X86_64 => "x86_64-unknown-linux-gnu",
        }
    }

    /// The architecture of the machine running this build, when Lambda has it.
    pub fn host() -> Option<Arch> {
        match std::env::consts::ARCH {
            "aarch64" => Some(Arch::Arm64),
            "x86_64" => Some(Arch::X86_64),
            _ => None,
        }
    }

    /// ELF `e_machine` of binaries for this architecture.
    fn elf_machine(self) -> u16 {
        match self {
            Arch::Arm64 => 183, // EM_AARCH64
            Arch::X86_64 => 62, // EM_X86_64
        }
    }
}

/// One packaged function.
#[derive(Debug, Clone)]
pub struct Artifact {
    /// e.g. `voice-learning-session-persistence`
    pub function_name: String,
    /// `target/lambda/<function name>/bootstrap`
    pub bootstrap: PathBuf,
    /// `target/lambda/<function name>.zip` (reproducible)
    pub zip: PathBuf,
    /// hex sha256 of the zip
    pub sha256: String,
}

#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    #[arg(long, value_enum, default_value = "arm64")]
    pub arch: Arch,
}

/// The cargo bins of the `functions` package and the logical ids of the
/// Lambda functions they become (the function names come from the stack).
pub const FUNCTION_BINS: [(&str, &str); 2] = [
    (
        "session-persistence",
        stack::module::ids::SESSION_PERSISTENCE_FUNCTION,
    ),
    (
        "context-manager",
        stack::module::ids::CONTEXT_MANAGER_FUNCTION,
    ),
];

/// The newest glibc `provided.al2023` has.
pub const MAX_GLIBC: (u32, u32) = (2, 34);

/// The function name of each cargo bin, from the (unstaged) stack.
pub fn function_names() -> anyhow::Result<Vec<(&'static str, String)>> {
    let t = stack::synth(&stack::StackOptions::default())?;
    FUNCTION_BINS
        .iter()
        .map(|(bin, id)| match t.get(id).map(|r| &r.properties) {
            Some(stack::resources::Properties::Function(f)) => Ok((*bin, f.function_name.clone())),
            _ => bail!("the stack has no function {id}"),
        })
        .collect()
}

/// `cargo build` (or `cargo zigbuild`) of the function bins, printing JSON
/// artifact messages on stdout (parse them with [`parse_artifacts`]).
pub fn cargo_build_command(release: bool, target: Option<&str>, zig: bool) -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(emulator::workspace_root());
    cmd.arg(if zig { "zigbuild" } else { "build" });
    if release {
        cmd.arg("--release");
    }
    cmd.args([
        "--package",
        "functions",
        "--message-format",
        "json-render-diagnostics",
    ]);
    for (bin, _) in FUNCTION_BINS {
        cmd.args(["--bin", bin]);
    }
    if let Some(t) = target {
        cmd.args(["--target", t]);
    }
    cmd
}

/// The executables cargo reported, by bin name.
pub fn parse_artifacts(stdout: &str) -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    for line in stdout.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if v["reason"] != "compiler-artifact" {
            continue;
        }
        if let (Some(exe), Some(name)) = (v["executable"].as_str(), v["target"]["name"].as_str()) {
            out.insert(name.to_string(), PathBuf::from(exe));
        }
    }
    out
}

fn zigbuild_available() -> bool {
    Command::new("cargo-zigbuild")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn target_installed(triple: &str) -> bool {
    match Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
    {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout)
            .lines()
            .any(|l| l.trim() == triple),
        // No rustup: look for the target's standard library in the sysroot.
        _ => Command::new("rustc")
            .args(["--print", "target-libdir", "--target", triple])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| Path::new(String::from_utf8_lossy(&o.stdout).trim()).is_dir())
            .unwrap_or(false),
    }
}

fn target_dir() -> anyhow::Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(emulator::workspace_root())
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .output()
        .context("running cargo metadata")?;
    if !out.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("reading cargo metadata")?;
    Ok(PathBuf::from(
        v["target_directory"]
            .as_str()
            .context("cargo metadata has no target_directory")?,
    ))
}

/// Runs a cargo build command, showing its progress, and returns the executables.
pub fn run_cargo_build(mut cmd: Command) -> anyhow::Result<BTreeMap<String, PathBuf>> {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("running cargo")?;
    let mut stdout = String::new();
    for line in BufReader::new(child.stdout.take().expect("piped")).lines() {
        stdout.push_str(&line.context("reading cargo's output")?);
        stdout.push('\n');
    }
    let status = child.wait().context("waiting for cargo")?;
    if !status.success() {
        bail!("building the functions failed ({status}); cargo's messages are above");
    }
    Ok(parse_artifacts(&stdout))
}

/// Release-builds both functions for Lambda and packages them.
pub fn build_all(arch: Arch) -> anyhow::Result<Vec<Artifact>> {
    let names = function_names()?;
    let zig = zigbuild_available();
    let native = Arch::host() == Some(arch);
    let triple = arch.triple();
    let target = if zig {
        // cargo-zigbuild pins the glibc version with a suffix on the target.
        Some(format!("{triple}.{}.{}", MAX_GLIBC.0, MAX_GLIBC.1))
    } else if native {
        None
    } else {
        Some(triple.to_string())
    };
    if target.is_some() && !target_installed(triple) {
        bail!(
            "the Rust target {triple} (Lambda {}) is not installed. Install it with:\n    rustup target add {triple}\n{}",
            arch.lambda_name(),
            if zig {
                ""
            } else {
                "and, to link it, cargo-zigbuild (`pip install ziglang && cargo install --locked cargo-zigbuild`), or build with --arch x86_64 on this machine"
            }
        );
    }
    eprintln!(
        "building {} for Lambda {} (release{})",
        names
            .iter()
            .map(|(_, n)| n.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        arch.lambda_name(),
        if zig {
            ", cargo-zigbuild, glibc 2.34"
        } else {
            ""
        }
    );
    let exes = run_cargo_build(cargo_build_command(true, target.as_deref(), zig))?;
    let lambda_dir = target_dir()?.join("lambda");
    let mut artifacts = Vec::new();
    for (bin, function_name) in names {
        let exe = exes
            .get(bin)
            .with_context(|| format!("cargo built no executable for the bin `{bin}`"))?;
        let bytes = std::fs::read(exe).with_context(|| format!("reading {}", exe.display()))?;
        check_binary(&bytes, arch)
            .with_context(|| format!("{function_name} ({})", exe.display()))?;
        let artifact = package(&lambda_dir, &function_name, &bytes)?;
        artifacts.push(artifact);
    }
    println!(
        "{:<40} {:>12} {:>12}  sha256 (zip)",
        "function", "bootstrap", "zip"
    );
    for a in &artifacts {
        let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        println!(
            "{:<40} {:>12} {:>12}  {}",
            a.function_name,
            human(size(&a.bootstrap)),
            human(size(&a.zip)),
            a.sha256
        );
    }
    for a in &artifacts {
        println!("  {}", a.zip.display());
    }
    Ok(artifacts)
}

fn human(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{:.2} MiB", bytes as f64 / (1u64 << 20) as f64)
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}

/// Writes `<dir>/<name>/bootstrap` and the reproducible `<dir>/<name>.zip`.
fn package(dir: &Path, function_name: &str, binary: &[u8]) -> anyhow::Result<Artifact> {
    let fn_dir = dir.join(function_name);
    std::fs::create_dir_all(&fn_dir).with_context(|| format!("creating {}", fn_dir.display()))?;
    let bootstrap = fn_dir.join("bootstrap");
    write_atomic(&bootstrap, binary, 0o755)?;
    let zip_bytes = reproducible_zip(binary)?;
    let zip = dir.join(format!("{function_name}.zip"));
    write_atomic(&zip, &zip_bytes, 0o644)?;
    Ok(Artifact {
        function_name: function_name.to_string(),
        bootstrap,
        zip,
        sha256: hex(&Sha256::digest(&zip_bytes)),
    })
}

fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A zip with the single entry `bootstrap` (0755), fixed timestamp and level.
pub fn reproducible_zip(binary: &[u8]) -> anyhow::Result<Vec<u8>> {
    use zip::write::SimpleFileOptions;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(9))
        .unix_permissions(0o755)
        .last_modified_time(zip::DateTime::default());
    w.start_file("bootstrap", opts)?;
    w.write_all(binary)?;
    Ok(w.finish()?.into_inner())
}

/// Checks the binary is an ELF for `arch` needing no glibc newer than 2.34.
pub fn check_binary(bytes: &[u8], arch: Arch) -> anyhow::Result<()> {
    let info = elf::read(bytes)?;
    if info.machine != arch.elf_machine() {
        bail!(
            "the binary is for ELF machine {} but Lambda {} needs {}",
            info.machine,
            arch.lambda_name(),
            arch.elf_machine()
        );
    }
    if let Some(max) = info.glibc_versions.iter().max() {
        if *max > MAX_GLIBC {
            let too_new: Vec<String> = info
                .glibc_versions
                .iter()
                .filter(|v| **v > MAX_GLIBC)
                .map(|(a, b)| format!("GLIBC_{a}.{b}"))
                .collect();
            bail!(
                "the binary needs {} but Lambda's provided.al2023 has glibc {}.{}. Install cargo-zigbuild (`pip install ziglang && cargo install --locked cargo-zigbuild`) so the build links against glibc {}.{}, or build on a system with glibc <= {}.{}",
                too_new.join(", "),
                MAX_GLIBC.0,
                MAX_GLIBC.1,
                MAX_GLIBC.0,
                MAX_GLIBC.1,
                MAX_GLIBC.0,
                MAX_GLIBC.1
            );
        }
    }
    Ok(())
}

/// A minimal ELF64 little-endian reader: the machine and the `GLIBC_x.y`
/// versions in the version-needs section (`SHT_GNU_verneed`).
pub mod elf {
    use anyhow::{bail, Context};

    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct ElfInfo {
        pub machine: u16,
        /// Every `GLIBC_major.minor` the binary needs, sorted, deduplicated.
        pub glibc_versions: Vec<(u32, u32)>,
    }

    const SHT_GNU_VERNEED: u32 = 0x6fff_fffe;

    fn u16_at(b: &[u8], off: usize) -> anyhow::Result<u16> {
        let s = b.get(off..off + 2).context("truncated ELF")?;
        Ok(u16::from_le_bytes([s[0], s[1]]))
    }
    fn u32_at(b: &[u8], off: usize) -> anyhow::Result<u32> {
        let s = b.get(off..off + 4).context("truncated ELF")?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn u64_at(b: &[u8], off: usize) -> anyhow::Result<usize> {
        let s = b.get(off..off + 8).context("truncated ELF")?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        usize::try_from(u64::from_le_bytes(a)).context("ELF offset too large")
    }
    fn c_str(b: &[u8], off: usize) -> anyhow::Result<&str> {
        let rest = b.get(off..).context("string offset outside the ELF")?;
        let end = rest
            .iter()
            .position(|c| *c == 0)
            .context("unterminated ELF string")?;
        std::str::from_utf8(&rest[..end]).context("ELF string is not UTF-8")
    }

    /// Parses `GLIBC_2.34` into (2, 34).
    pub fn parse_glibc(name: &str) -> Option<(u32, u32)> {
        let v = name.strip_prefix("GLIBC_")?;
        let mut parts = v.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next().map_or(Some(0), |m| m.parse().ok())?;
        Some((major, minor))
    }

    pub fn read(b: &[u8]) -> anyhow::Result<ElfInfo> {
        if b.len() < 64 || &b[..4] != b"\x7fELF" {
            bail!("not an ELF file");
        }
        if b[4] != 2 || b[5] != 1 {
            bail!("not a 64-bit little-endian ELF (Lambda needs one)");
        }
        let machine = u16_at(b, 18)?;
        let shoff = u64_at(b, 40)?;
        let shentsize = usize::from(u16_at(b, 58)?);
        let shnum = usize::from(u16_at(b, 60)?);
        let section = |i: usize| shoff + i * shentsize;
        let mut versions = Vec::new();
        for i in 0..shnum {
            let sh = section(i);
            if u32_at(b, sh + 4)? != SHT_GNU_VERNEED {
                continue;
            }
            let offset = u64_at(b, sh + 24)?;
            let link = u32_at(b, sh + 40)? as usize;
            let count = u32_at(b, sh + 44)? as usize; // sh_info: number of entries
            let strtab = u64_at(b, section(link) + 24)?;
            let mut vn = offset;
            for _ in 0..count {
                let cnt = usize::from(u16_at(b, vn + 2)?);
                let mut aux = vn + u32_at(b, vn + 8)? as usize;
                for _ in 0..cnt {
                    let name = c_str(b, strtab + u32_at(b, aux + 8)? as usize)?;
                    if let Some(v) = parse_glibc(name) {
                        versions.push(v);
                    }
                    let next = u32_at(b, aux + 12)? as usize;
                    if next == 0 {
                        break;
                    }
                    aux += next;
                }
                let next = u32_at(b, vn + 12)? as usize;
                if next == 0 {
                    break;
                }
                vn += next;
            }
        }
        versions.sort_unstable();
        versions.dedup();
        Ok(ElfInfo {
            machine,
            glibc_versions: versions,
        })
    }
}

pub fn run(args: BuildArgs) -> anyhow::Result<ExitCode> {
    build_all(args.arch)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        b[4] = 2;
        b[5] = 1;
        b[18..20].copy_from_slice(&machine.to_le_bytes());
        b[40..48].copy_from_slice(&(shoff as u64).to_le_bytes());
        b[58..60].copy_from_slice(&64u16.to_le_bytes());
        b[60..62].copy_from_slice(&3u16.to_le_bytes());
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
        let info = elf::read(&b).unwrap();
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
        assert!(elf::read(b"#!/bin/sh\n").is_err());
    }

    #[test]
    fn reads_a_real_binary() {
        // This test binary itself is a dynamically linked glibc ELF.
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let info = elf::read(&me).unwrap();
        assert!(info.glibc_versions.iter().any(|(a, _)| *a == 2), "{info:?}");
    }

    #[test]
    fn zips_are_reproducible() {
        let bin: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let a = reproducible_zip(&bin).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let b = reproducible_zip(&bin).unwrap();
        assert_eq!(a, b);
        let mut other = bin.clone();
        other[7] ^= 1;
        assert_ne!(a, reproducible_zip(&other).unwrap());
        let mut z = zip::ZipArchive::new(std::io::Cursor::new(a)).unwrap();
        assert_eq!(z.len(), 1);
        let f = z.by_index(0).unwrap();
        assert_eq!(f.name(), "bootstrap");
        assert_eq!(f.unix_mode().map(|m| m & 0o777), Some(0o755));
    }

    #[test]
    fn cargo_artifacts_are_parsed() {
        let out = r#"{"reason":"compiler-artifact","target":{"name":"context-manager"},"executable":"/t/debug/context-manager"}
{"reason":"compiler-artifact","target":{"name":"functions"},"executable":null}
{"reason":"build-finished","success":true}"#;
        let m = parse_artifacts(out);
        assert_eq!(m.len(), 1);
        assert_eq!(
            m["context-manager"],
            PathBuf::from("/t/debug/context-manager")
        );
    }
}
