//! `.env.local` and `.env`: in a test binary of their own, since loading them sets process
//! environment variables, which must not race other tests reading the environment.

use voiceblox_host::dotenv::load_from;

#[test]
fn env_local_wins_over_env_the_environment_over_both_and_a_broken_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    assert!(load_from(dir.path()).unwrap().is_empty(), "missing files are skipped");

    std::fs::write(
        dir.path().join(".env"),
        "VOICEBLOX_DOTENV_T_BOTH=from-env\nVOICEBLOX_DOTENV_T_ENV_ONLY=env\nPATH=nope\n",
    )
    .unwrap();
    std::fs::write(dir.path().join(".env.local"), "VOICEBLOX_DOTENV_T_BOTH=from-local\n").unwrap();
    let read = load_from(dir.path()).unwrap();
    assert_eq!(read, [dir.path().join(".env.local"), dir.path().join(".env")]);
    assert_eq!(std::env::var("VOICEBLOX_DOTENV_T_BOTH").unwrap(), "from-local");
    assert_eq!(std::env::var("VOICEBLOX_DOTENV_T_ENV_ONLY").unwrap(), "env");
    assert_ne!(std::env::var("PATH").unwrap(), "nope", "the real environment wins");

    let broken = tempfile::tempdir().unwrap();
    std::fs::write(broken.path().join(".env.local"), "VOICEBLOX_DOTENV_T_BROKEN='unterminated\n").unwrap();
    let error = load_from(broken.path()).unwrap_err();
    assert!(error.to_string().contains(".env.local"), "{error}");
}
