//! `plugins new NAME --lang rust|python|js --kind llm|tts|stt`: a plugin project that builds with one
//! command and passes `plugins check` as it is, to start an adapter from.
//!
//! Rust projects depend on the SDK crate in this source tree; Python and JavaScript projects are
//! self-contained (the SDK and the WIT contract are copied in), their LLM adapter the
//! repository's example in that language, renamed, their TTS and STT adapters templates on the
//! SDK's `SpeechRequests` and `TranscriptionRequests`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};

const CARGO_TOML: &str = include_str!("rust/Cargo.toml.tmpl");
const LLM_RS: &str = include_str!("rust/llm.rs.tmpl");
const TTS_RS: &str = include_str!("rust/tts.rs.tmpl");
const STT_RS: &str = include_str!("rust/stt.rs.tmpl");
const README: &str = include_str!("rust/README.md.tmpl");
const PYTHON_APP: &str = include_str!("../../../../examples/plugins/python/app.py");
const PYTHON_TTS: &str = include_str!("python/tts.py.tmpl");
const PYTHON_STT: &str = include_str!("python/stt.py.tmpl");
const PYTHON_BUILD: &str = include_str!("python/build.sh.tmpl");
const PYTHON_README: &str = include_str!("python/README.md.tmpl");
const PYTHON_SDK: &str = include_str!("../../../../plugins/sdk-python/voiceblox_plugin/__init__.py");
const JS_APP: &str = include_str!("../../../../examples/plugins/javascript/app.js");
const JS_TTS: &str = include_str!("js/tts.js.tmpl");
const JS_STT: &str = include_str!("js/stt.js.tmpl");
const JS_PACKAGE: &str = include_str!("../../../../examples/plugins/javascript/package.json");
const JS_LOCK: &str = include_str!("../../../../examples/plugins/javascript/package-lock.json");
const JS_BUILD: &str = include_str!("js/build.sh.tmpl");
const JS_README: &str = include_str!("js/README.md.tmpl");
const JS_SDK: &str = include_str!("../../../../plugins/sdk-js/voiceblox-plugin.js");
/// The JavaScript example's package name, renamed in the new project's package files.
const JS_EXAMPLE_PACKAGE: &str = "voiceblox-plugin-example-js";
/// The contract, for guest toolchains that read WIT.
const WIT: [(&str, &str); 5] = [
    ("types.wit", include_str!("../../../../wit/types.wit")),
    ("llm.wit", include_str!("../../../../wit/llm.wit")),
    ("tts.wit", include_str!("../../../../wit/tts.wit")),
    ("stt.wit", include_str!("../../../../wit/stt.wit")),
    ("worlds.wit", include_str!("../../../../wit/worlds.wit")),
];
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
    let kind = match args.kind {
        NewKind::Llm => "llm",
        NewKind::Tts => "tts",
        NewKind::Stt => "stt",
    };
    let dir = args.dir.clone().unwrap_or_else(|| PathBuf::from(&names.name));
    if dir.exists() {
        bail!("{} exists already: choose another --dir", dir.display());
    }
    let (files, build) = match args.lang {
        Lang::Rust => {
            let source = match args.kind {
                NewKind::Llm => LLM_RS,
                NewKind::Tts => TTS_RS,
                NewKind::Stt => STT_RS,
            };
            (rust_files(&names, kind, source, args.sdk)?, "cargo build --release --target wasm32-wasip2")
        }
        Lang::Python => (python_files(&names, kind, args.kind), "./build.sh"),
        Lang::Js => (js_files(&names, kind, args.kind), "./build.sh"),
    };
    for (path, text) in &files {
        write(&dir.join(path), text)?;
    }
    if args.lang != Lang::Rust {
        make_executable(&dir.join("build.sh"))?;
    }
    let wasm = match args.lang {
        Lang::Rust => format!("target/wasm32-wasip2/release/{}.wasm", names.file),
        _ => format!("{}.wasm", names.file),
    };
    println!("created {} ({kind} plugin `{}`, {:?})", dir.display(), names.name, args.lang);
    println!("  cd {}", dir.display());
    println!("  {build}");
    println!("  voiceblox-host plugins check {wasm}");
    Ok(())
}

fn rust_files(names: &Names, kind: &str, source: &str, sdk: Option<PathBuf>) -> anyhow::Result<Vec<(String, String)>> {
    let sdk = sdk.unwrap_or_else(|| PathBuf::from(SDK_IN_TREE));
    let sdk = sdk
        .canonicalize()
        .with_context(|| format!("the plugin SDK is not at {} (give its folder with --sdk)", sdk.display()))?;
    if !sdk.join("Cargo.toml").is_file() {
        bail!("{} holds no Cargo.toml: --sdk must name the voiceblox-plugin-sdk crate's folder", sdk.display());
    }
    let sdk = sdk.to_string_lossy().replace('\\', "/");
    Ok(vec![
        ("Cargo.toml".into(), names.fill(CARGO_TOML, kind, &sdk)),
        ("rust-toolchain.toml".into(), TOOLCHAIN.to_string()),
        ("src/lib.rs".into(), names.fill(source, kind, &sdk)),
        ("README.md".into(), names.fill(README, kind, &sdk)),
        (".gitignore".into(), "/target\n".to_string()),
    ])
}

fn python_files(names: &Names, kind: &str, which: NewKind) -> Vec<(String, String)> {
    let app = match which {
        NewKind::Llm => python_llm(names),
        NewKind::Tts => names.fill(PYTHON_TTS, kind, ""),
        NewKind::Stt => names.fill(PYTHON_STT, kind, ""),
    };
    let mut files = vec![
        ("app.py".to_string(), app),
        ("build.sh".into(), names.fill(PYTHON_BUILD, kind, "")),
        ("README.md".into(), names.fill(PYTHON_README, kind, "")),
        ("voiceblox_plugin/__init__.py".into(), PYTHON_SDK.to_string()),
        (".gitignore".into(), format!("/.toolchain\n/{}.wasm\n", names.file)),
    ];
    files.extend(WIT.iter().map(|(file, text)| (format!("wit/{file}"), text.to_string())));
    files
}

/// The Python example, renamed: its provider id, plugin name and variables become the new
/// plugin's.
fn python_llm(names: &Names) -> String {
    PYTHON_APP
        .replace("openai-compat-py", &names.name)
        .replace("py-openai-compat", &names.name)
        .replace("OPENAI_API_KEY", &format!("{}_API_KEY", names.upper))
        .replace("OPENAI_BASE_URL", &format!("{}_BASE_URL", names.upper))
        .replace("class OpenAiCompat(", &format!("class {}(", names.camel))
        .replace("export(OpenAiCompat())", &format!("export({}())", names.camel))
}

fn js_files(names: &Names, kind: &str, which: NewKind) -> Vec<(String, String)> {
    let app = match which {
        NewKind::Llm => js_llm(names),
        NewKind::Tts => names.fill(JS_TTS, kind, ""),
        NewKind::Stt => names.fill(JS_STT, kind, ""),
    };
    let mut files = vec![
        ("app.js".to_string(), app),
        ("voiceblox-plugin.js".into(), JS_SDK.to_string()),
        ("package.json".into(), JS_PACKAGE.replace(JS_EXAMPLE_PACKAGE, &names.name)),
        ("package-lock.json".into(), JS_LOCK.replace(JS_EXAMPLE_PACKAGE, &names.name)),
        ("build.sh".into(), names.fill(JS_BUILD, kind, "")),
        ("README.md".into(), names.fill(JS_README, kind, "")),
        (".gitignore".into(), format!("/node_modules\n/{}.wasm\n", names.file)),
    ];
    files.extend(WIT.iter().map(|(file, text)| (format!("wit/{file}"), text.to_string())));
    files
}

/// The JavaScript example, renamed as the Python one is; the SDK sits beside it as the
/// example's build stages it.
fn js_llm(names: &Names) -> String {
    JS_APP
        .replace("openai-compat-js", &names.name)
        .replace("js-openai-compat", &names.name)
        .replace("OPENAI_API_KEY", &format!("{}_API_KEY", names.upper))
        .replace("OPENAI_BASE_URL", &format!("{}_BASE_URL", names.upper))
        .replace("class OpenAiCompat ", &format!("class {} ", names.camel))
        .replace("new OpenAiCompat()", &format!("new {}()", names.camel))
        .replace(" // plugins/sdk-js, copied in by build.sh", "")
}

#[cfg(unix)]
fn make_executable(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("making {} executable", path.display()))
}

#[cfg(not(unix))]
fn make_executable(_path: &Path) -> anyhow::Result<()> {
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
