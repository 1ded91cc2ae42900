//! `plugins list` and `plugins check FILE`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use voiceblox_host::plugin::{Plugin, kind_name};

use super::PluginOptions;

#[derive(Subcommand, Debug)]
pub enum PluginsCommand {
    /// Table of the plugins in the plugins folder, and the files that were refused.
    List,
    /// Load one component as the host would and report what it provides or why it is refused.
    Check { file: PathBuf },
}

pub async fn run(options: &PluginOptions, command: PluginsCommand) -> anyhow::Result<ExitCode> {
    let engine = options.engine()?;
    match command {
        PluginsCommand::List => {
            let dir = options.plugins_dir();
            let registry = options.registry(&engine).await;
            println!("plugins in {}", dir.display());
            print_table(registry.plugins());
            for failure in registry.failures() {
                println!("refused: {failure}");
            }
            Ok(if registry.failures().is_empty() { ExitCode::SUCCESS } else { ExitCode::from(2) })
        }
        PluginsCommand::Check { file } => match Plugin::load(&engine, &options.cache(), &file).await {
            Ok(plugin) => {
                println!(
                    "ok: {} {} (contract voiceblox:plugin@{}, {} KiB)",
                    plugin.name(),
                    plugin.info().version,
                    voiceblox_host::plugin::bindings::latest::VERSION,
                    plugin.wasm_bytes() / 1024
                );
                print_table(std::slice::from_ref(&plugin));
                Ok(ExitCode::SUCCESS)
            }
            Err(error) => {
                println!("refused: {error}");
                Ok(ExitCode::FAILURE)
            }
        },
    }
}

fn print_table(plugins: &[std::sync::Arc<Plugin>]) {
    let mut rows = vec![["PLUGIN", "VERSION", "PROVIDER", "KINDS", "HOSTS"].map(String::from)];
    for plugin in plugins {
        for provider in &plugin.info().providers {
            let kinds: Vec<&str> = provider.kinds.iter().map(|k| kind_name(*k)).collect();
            rows.push([
                plugin.name().to_string(),
                plugin.info().version.clone(),
                provider.id.clone(),
                kinds.join(","),
                if provider.hosts.is_empty() { "-".into() } else { provider.hosts.join(",") },
            ]);
        }
    }
    let widths: Vec<usize> = (0..5).map(|c| rows.iter().map(|r| r[c].len()).max().unwrap_or(0)).collect();
    for row in rows {
        let cells: Vec<String> = row.iter().zip(&widths).map(|(cell, w)| format!("{cell:<w$}")).collect();
        println!("{}", cells.join("  ").trim_end());
    }
}
