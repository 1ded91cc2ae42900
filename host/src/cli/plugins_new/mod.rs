//! `plugins new NAME --lang rust --kind llm|tts`: a plugin project that builds with one command
//! and passes `plugins check` as it is, to start an adapter from.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};

const CARGO_TOML: &str = include_str!("rust/Cargo.toml.tmpl");
const LLM_RS: &str = include_str!("rust/llm.rs.tmpl");
const TTS_RS: &str = include_str!("rust/tts.rs.tmpl");
const README: &str = include_str!("rust/README.md.tmpl");
/// The toolchain the SDK is built and tested with, wasm target included.
const TOOLCHAIN: &str = include_str!("../../../../rust-toolchain.toml");
/// Where the SDK is in this build's source tree.
const SDK_IN_TREE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../plugins/sdk");

#[derive(Args, Debug)]
pub struct NewArgs {
    /// The plugin's name, also its provider id: lowercase letters, digits and `-`.
    name: String,
    /// The language to write it in.
    #[arg(long, value_enum, default_value_t = Lang::Rust)]
    lang: Lang,
    /// What it provides.
    #[arg(long, value_enum, default_value_t = NewKind::Llm)]
    kind: NewKind,
    /// Where to create it (default: `./NAME`); must not exist yet.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// The `voiceblox-plugin-sdk` crate to depend on (default: the one in this build's source
    /// tree).
    #[arg(long)]
    sdk: Option<PathBuf>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Lang {
    Rust,
    Python,
    Js,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum NewKind {
    Llm,
    Tts,
    Stt,
}

/// The names a template is filled in with.
struct Names {
    /// `my-voice`: package, plugin and provider id.
    name: String,
    /// `MyVoice`: the plugin type.
    camel: String,
    /// `MY_VOICE`: the environment variables' prefix.
    upper: String,
    /// `my_voice`: the compiled file's stem.
    file: String,
}

impl Names {
    fn new(name: &str) -> anyhow::Result<Self> {
        let valid = name.len() <= 64
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !name.ends_with('-');
        if !valid {
            bail!(
                "`{name}` cannot name a plugin: use lowercase letters, digits and `-`, starting with a letter (e.g. `acme-voice`)"
            );
        }
        let camel = name
            .split('-')
            .map(|part| {
                let mut chars = part.chars();
                chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
            })
            .collect();
        Ok(Self {
            name: name.into(),
            camel,
            upper: name.to_ascii_uppercase().replace('-', "_"),
            file: name.replace('-', "_"),
        })
    }

    fn fill(&self, template: &str, kind: &str, sdk: &str) -> String {
        template
            .replace("{{name}}", &self.name)
            .replace("{{id}}", &self.name)
            .replace("{{Name}}", &self.camel)
            .replace("{{ID}}", &self.upper)
            .replace("{{file}}", &self.file)
            .replace("{{kind}}", kind)
            .replace("{{sdk}}", sdk)
    }
}

pub fn run(args: NewArgs) -> anyhow::Result<()> {
    let names = Names::new(&args.name)?;
    let source = match (args.lang, args.kind) {
        (Lang::Rust, NewKind::Llm) => LLM_RS,
        (Lang::Rust, NewKind::Tts) => TTS_RS,
        (Lang::Rust, NewKind::Stt) => {
            bail!(
                "no Rust STT template yet: start from `--kind llm` or `--kind tts`, or from plugins/deepgram in the voiceblox repository"
            )
        }
        (lang @ (Lang::Python | Lang::Js), _) => bail!(
            "no {lang:?} template yet: see examples/plugins/{} in the voiceblox repository for a working adapter",
            if lang == Lang::Python { "python" } else { "javascript" }
        ),
    };
    let sdk = args.sdk.unwrap_or_else(|| PathBuf::from(SDK_IN_TREE));
    let sdk = sdk
        .canonicalize()
        .with_context(|| format!("the plugin SDK is not at {} (give its folder with --sdk)", sdk.display()))?;
    if !sdk.join("Cargo.toml").is_file() {
        bail!("{} holds no Cargo.toml: --sdk must name the voiceblox-plugin-sdk crate's folder", sdk.display());
    }
    let dir = args.dir.unwrap_or_else(|| PathBuf::from(&names.name));
    if dir.exists() {
        bail!("{} exists already: choose another --dir", dir.display());
    }
    let kind = match args.kind {
        NewKind::Llm => "llm",
        NewKind::Tts => "tts",
        NewKind::Stt => "stt",
    };
    let sdk_text = sdk.to_string_lossy().replace('\\', "/");
    let files = [
        ("Cargo.toml", names.fill(CARGO_TOML, kind, &sdk_text)),
        ("rust-toolchain.toml", TOOLCHAIN.to_string()),
        ("src/lib.rs", names.fill(source, kind, &sdk_text)),
        ("README.md", names.fill(README, kind, &sdk_text)),
        (".gitignore", "/target\n".to_string()),
    ];
    for (path, text) in files {
        write(&dir.join(path), &text)?;
    }
    println!("created {} ({kind} plugin `{}`, Rust)", dir.display(), names.name);
    println!("  cd {}", dir.display());
    println!("  cargo build --release --target wasm32-wasip2");
    println!("  voiceblox-host plugins check target/wasm32-wasip2/release/{}.wasm", names.file);
    Ok(())
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_and_spelled_for_each_use() {
        let names = Names::new("acme-voice2").unwrap();
        assert_eq!(
            (names.camel.as_str(), names.upper.as_str(), names.file.as_str()),
            ("AcmeVoice2", "ACME_VOICE2", "acme_voice2")
        );
        for bad in ["Acme", "2acme", "acme_voice", "acme-", "", "a b"] {
            assert!(Names::new(bad).is_err(), "{bad}");
        }
        let filled = names.fill("{{Name}} {{id}} {{ID}}_API_KEY {{file}}.wasm", "llm", "/sdk");
        assert_eq!(filled, "AcmeVoice2 acme-voice2 ACME_VOICE2_API_KEY acme_voice2.wasm");
    }
}
