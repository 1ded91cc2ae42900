//! Loading plugins: the shipped ones describe themselves; bad files are refused with specific
//! errors and never stop the good ones from loading.

use crate::common;

use voiceblox_host::plugin::{Plugin, PluginError, PluginRegistry, default_plugins_dir, types::Kind};

#[tokio::test]
async fn shipped_plugins_load_and_route_by_provider_and_kind() {
    let registry = PluginRegistry::load_dir(&common::engine(), &common::cache(), &default_plugins_dir()).await;
    assert!(
        registry.failures().is_empty(),
        "{:?}",
        registry.failures().iter().map(|f| f.to_string()).collect::<Vec<_>>()
    );
    for (provider, kind) in [
        ("openai", Kind::Llm),
        ("openai", Kind::Tts),
        ("openai", Kind::Stt),
        ("deepgram", Kind::Stt),
        ("deepgram", Kind::Tts),
    ] {
        let plugin = registry.get(provider, kind).unwrap_or_else(|| panic!("{provider} {kind:?} missing"));
        assert_eq!(plugin.name(), provider);
    }
    assert!(registry.get("deepgram", Kind::Llm).is_none());
    let openai = registry.get("openai", Kind::Llm).unwrap().provider("openai").unwrap();
    assert_eq!(openai.hosts, vec!["api.openai.com".to_string()]);
    assert_eq!(openai.api_key_env, vec!["OPENAI_API_KEY".to_string()]);
}

#[tokio::test]
async fn a_file_that_is_not_wasm_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.wasm");
    std::fs::write(&path, "just some text").unwrap();
    let err = Plugin::load(&common::engine(), &common::cache(), &path).await.err().unwrap();
    assert!(matches!(err, PluginError::NotWasm { .. }), "{err}");
    assert!(err.to_string().contains("notes.wasm"), "{err}");
}

#[tokio::test]
async fn a_core_module_is_refused_with_how_to_make_a_component() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("core.wasm");
    // The smallest valid core module: magic + version 1.
    std::fs::write(&path, b"\0asm\x01\0\0\0").unwrap();
    let err = Plugin::load(&common::engine(), &common::cache(), &path).await.err().unwrap();
    assert!(matches!(err, PluginError::CoreModule { .. }), "{err}");
    assert!(err.to_string().contains("wasm32-wasip2"), "{err}");
}

#[tokio::test]
async fn a_truncated_component_is_refused_as_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("truncated.wasm");
    let bytes = std::fs::read(default_plugins_dir().join("openai.wasm")).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let err = Plugin::load(&common::engine(), &common::cache(), &path).await.err().unwrap();
    assert!(matches!(err, PluginError::Invalid { .. }), "{err}");
}

#[tokio::test]
async fn another_contract_version_is_refused_naming_both_versions() {
    let err = Plugin::load(&common::engine(), &common::cache(), &common::fixture("old-contract")).await.err().unwrap();
    let PluginError::ContractVersion { expected, found, .. } = &err else { panic!("{err}") };
    assert_eq!(expected, "0.1.0 and 0.2.0");
    assert!(found.contains("voiceblox:plugin@0.0.9"), "{found}");
    assert!(err.to_string().contains("this host loads voiceblox:plugin 0.1.0 and 0.2.0"), "{err}");
}

#[tokio::test]
async fn bad_files_are_reported_and_the_good_ones_still_load() {
    let dir = common::plugins_with_fixtures();
    std::fs::write(dir.path().join("aaa-broken.wasm"), "garbage").unwrap();
    std::fs::copy(common::fixture("old-contract"), dir.path().join("old.wasm")).unwrap();
    std::fs::write(dir.path().join("README.txt"), "not a plugin, not even looked at").unwrap();
    let registry = PluginRegistry::load_dir(&common::engine(), &common::cache(), dir.path()).await;
    let failures: Vec<String> = registry.failures().iter().map(|f| f.to_string()).collect();
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert!(failures.iter().any(|f| f.contains("aaa-broken.wasm")));
    assert!(failures.iter().any(|f| f.contains("old.wasm") && f.contains("0.0.9")));
    assert!(registry.get("openai", Kind::Llm).is_some());
    assert!(registry.get("misbehave", Kind::Llm).is_some());
}

#[tokio::test]
async fn a_missing_folder_is_a_clear_failure_not_a_panic() {
    let registry =
        PluginRegistry::load_dir(&common::engine(), &common::cache(), std::path::Path::new("/nonexistent/plugins"))
            .await;
    assert!(registry.plugins().is_empty());
    assert!(registry.failures()[0].to_string().contains("/nonexistent/plugins"));
}

#[tokio::test]
async fn the_compile_cache_is_reused_across_engines() {
    let cache_dir = tempfile::tempdir().unwrap();
    let cache = voiceblox_host::plugin::CompileCache::new(Some(cache_dir.path().to_path_buf()));
    let path = default_plugins_dir().join("deepgram.wasm");
    Plugin::load(&common::engine(), &cache, &path).await.unwrap();
    let entries: Vec<_> = std::fs::read_dir(cache_dir.path()).unwrap().collect();
    assert_eq!(entries.len(), 1, "one compiled artifact");
    // A corrupt entry is discarded and recompiled, not trusted.
    let entry = entries[0].as_ref().unwrap().path();
    std::fs::write(&entry, b"corrupt").unwrap();
    let plugin = Plugin::load(&common::engine(), &cache, &path).await.unwrap();
    assert_eq!(plugin.name(), "deepgram");
    assert_ne!(std::fs::read(&entry).unwrap(), b"corrupt");
}
