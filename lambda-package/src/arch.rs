//! The two Lambda architectures and what each means for the build.

/// A Lambda architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Arch {
    #[default]
    Arm64,
    #[cfg_attr(feature = "clap", value(name = "x86_64"))]
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

    /// From the `Architecture` parameter value.
    pub fn from_lambda_name(name: &str) -> Option<Arch> {
        [Arch::Arm64, Arch::X86_64]
            .into_iter()
            .find(|a| a.lambda_name() == name)
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

    /// The architecture of ELF `e_machine`, when Lambda has it.
    pub fn from_elf_machine(machine: u16) -> Option<Arch> {
        [Arch::Arm64, Arch::X86_64]
            .into_iter()
            .find(|a| a.elf_machine() == machine)
    }

    /// ELF `e_machine` of binaries for this architecture.
    pub fn elf_machine(self) -> u16 {
        match self {
            Arch::Arm64 => object::elf::EM_AARCH64,
            Arch::X86_64 => object::elf::EM_X86_64,
        }
    }
}
