//! `plugins list` and `plugins check FILE`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::Subcommand;

use voiceblox_host::plugin::{Plugin, PluginError, PluginRegistry, kind_name};

use super::PluginOptions;

#[derive(Subcommand, Debug)]
pub enum PluginsCommand {
    /// Table of the plugins in the plugins folder, and the files that were refused.
    List,
    /// Load one component as the host would and report what it provides or why it is refused.
    Check { file: PathBuf },
    /// Create a plugin project to start an adapter from: an OpenAI-compatible LLM or TTS adapter
    /// in Rust, or LLM adapter in Python, on the SDK, that builds and passes `check` as it is.
    New(super::plugins_new::NewArgs),
}

pub async fn run(options: &PluginOptions, command: PluginsCommand) -> anyhow::Result<ExitCode> {
    let engine = options.engine()?;
    match command {
        PluginsCommand::New(args) => {
            super::plugins_new::run(args)?;
            Ok(ExitCode::SUCCESS)
        }
        PluginsCommand::List => {
            let dir = options.plugins_dir();
            let registry = options.registry(&engine).await?;
            println!("plugins in {}", dir.display());
            print_table(registry.plugins());
            for failure in registry.failures() {
                println!("refused: {failure}");
            }
            Ok(if registry.failures().is_empty() { ExitCode::SUCCESS } else { ExitCode::from(2) })
        }
        PluginsCommand::Check { file } => match Plugin::load(&engine, &options.cache(), &file).await {
            Ok(plugin) => {
                // Would it serve its providers beside the plugins folder's?
                let folder = options.registry(&engine).await?;
                let mut plugins: Vec<Arc<Plugin>> =
                    folder.plugins().iter().filter(|p| !same_file(p.path(), &file)).cloned().collect();
                plugins.push(plugin.clone());
                let settled = PluginRegistry::from_plugins(plugins, Vec::new(), &options.provider_policy()?);
                let refusals: Vec<String> = settled
                    .failures()
                    .iter()
                    .filter(|f| matches!(f, PluginError::ProviderTaken { path, .. } if same_file(path, &file)))
                    .map(|f| f.to_string())
                    .collect();
                if !refusals.is_empty() {
                    for refusal in refusals {
                        println!("refused: {refusal}");
                    }
                    return Ok(ExitCode::FAILURE);
                }
                println!(
                    "ok: {} {} (contract voiceblox:plugin@{}{}, {} KiB, {})",
                    plugin.name(),
                    plugin.info().version,
                    plugin.contract_version(),
                    forwarded(&plugin),
                    plugin.wasm_bytes() / 1024,
                    origin(&plugin)
                );
                print_table(std::slice::from_ref(&plugin));
                let keys = options.provider_policy()?;
                for provider in &plugin.info().providers {
                    let reads = keys.key_vars(&provider.id);
                    for declared in provider.api_key_env.iter().filter(|v| !reads.contains(v)) {
                        println!(
                            "note: provider `{}` declares the key variable {declared}, which the host does not read for it; its key comes from {} (map other names in the policy file: [providers.{}] key_env = [...])",
                            provider.id,
                            if reads.is_empty() { "the config only".to_string() } else { reads.join(" or ") },
                            provider.id
                        );
                    }
                }
                Ok(ExitCode::SUCCESS)
            }
            Err(error) => {
                println!("refused: {error}");
                Ok(ExitCode::FAILURE)
            }
        },
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// `, forwarded to 0.2.0` for a plugin built against an older contract.
fn forwarded(plugin: &Plugin) -> String {
    let latest = voiceblox_host::plugin::bindings::latest::VERSION;
    if plugin.contract_version() == latest { String::new() } else { format!(", forwarded to {latest}") }
}

fn origin(plugin: &Plugin) -> &'static str {
    if plugin.is_first_party() { "first-party" } else { "third-party" }
}

fn print_table(plugins: &[std::sync::Arc<Plugin>]) {
    let mut rows = vec![["PLUGIN", "VERSION", "CONTRACT", "ORIGIN", "PROVIDER", "KINDS", "HOSTS"].map(String::from)];
    for plugin in plugins {
        for provider in &plugin.info().providers {
            let kinds: Vec<&str> = provider.kinds.iter().map(|k| kind_name(*k)).collect();
            rows.push([
                plugin.name().to_string(),
                plugin.info().version.clone(),
                plugin.contract_version().to_string(),
                origin(plugin).to_string(),
                provider.id.clone(),
                kinds.join(","),
                if provider.hosts.is_empty() { "-".into() } else { provider.hosts.join(",") },
            ]);
        }
    }
    let widths: Vec<usize> = (0..7).map(|c| rows.iter().map(|r| r[c].len()).max().unwrap_or(0)).collect();
    for row in rows {
        let cells: Vec<String> = row.iter().zip(&widths).map(|(cell, w)| format!("{cell:<w$}")).collect();
        println!("{}", cells.join("  ").trim_end());
    }
}
