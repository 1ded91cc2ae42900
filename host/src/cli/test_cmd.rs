//! `voiceblox-host test SPEC...`: runs flow tests of AgentConfigs, offline on virtual time.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use voiceblox_host::flowtest::{self, TestResult, expect::trim, junit};
use voiceblox_host::plugin::PluginOptions;
use voiceblox_host::record::replay::on_virtual_time;

#[derive(Args, Debug)]
pub struct TestArgs {
    /// Spec files (`<agent>.test.json`).
    #[arg(required = true)]
    specs: Vec<PathBuf>,
    /// Also write the results as JUnit XML.
    #[arg(long)]
    junit: Option<PathBuf>,
}

/// Exit status when a spec file cannot be read.
const UNREADABLE: u8 = 2;

pub async fn run(options: &PluginOptions, args: TestArgs) -> anyhow::Result<ExitCode> {
    let options = options.clone();
    let specs = args.specs.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        on_virtual_time(async move {
            let runtime = options.runtime().await?;
            let mut results = Vec::new();
            for spec in &specs {
                results.extend(flowtest::run_file(spec, &runtime).await?);
            }
            anyhow::Ok(results)
        })
    })
    .await
    .context("the test task")?
    .context("starting the test runtime")?;
    let results = match outcome {
        Ok(results) => results,
        Err(error) => {
            eprintln!("error: {error:#}");
            return Ok(ExitCode::from(UNREADABLE));
        }
    };
    print(&results);
    if let Some(path) = &args.junit {
        std::fs::write(path, junit::xml(&results)).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(if results.iter().all(|r| r.failures.is_empty()) { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn print(results: &[TestResult]) {
    for result in results {
        let status = if result.failures.is_empty() { "PASS" } else { "FAIL" };
        println!(
            "{status} {} › {} ({} virtual, {} ms)",
            result.file,
            result.name,
            humantime::format_duration(trim(result.virtual_time)),
            result.wall.as_millis()
        );
        for failure in &result.failures {
            println!("    - {failure}");
        }
    }
    let failed = results.iter().filter(|r| !r.failures.is_empty()).count();
    println!("{} passed, {failed} failed", results.len() - failed);
}
