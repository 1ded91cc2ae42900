//! What idle sessions cost one worker process: `voiceblox-host worker` runs as a child process
//! against the fake LiveKit in this process; N jobs are dispatched, each into a room of its own,
//! and once every agent has joined and published `lk.agent.state = initializing` (waiting for
//! its user, the state after dispatch before the browser connects) the child's RSS
//! (`VmRSS`) and CPU (`utime + stime`) are read over a rest window.
//!
//! Second table: the same with a user in each room (joined from this process with the host's
//! room client, so its CPU is not the worker's): the agent has greeted (LLM and TTS from the
//! OpenAI fake in this process, batch STT so no stream stays open) and is `listening`.
//!
//! Baseline, same run and same process: the worker registered with 0 sessions, over the same
//! window, just before the jobs are dispatched. A fresh worker and fake serve each N.
//!
//! `cargo bench -p voiceblox-host --bench idle_sessions [-- 1 50 200]`
//! (or `IDLE_SESSIONS=1,50,200`; `IDLE_WINDOW_SECS=10` sets the rest window;
//! `IDLE_VARIANT=waiting|listening|both`, default both).

use std::collections::HashSet;
use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use voiceblox_host::egress::secret::Secret;
use voiceblox_host::plugin::default_plugins_dir;
use voiceblox_host::transport::livekit::{ControlPlane, LiveKitCredentials};
use voiceblox_tests::fakes::livekit::FakeLiveKit;
use voiceblox_tests::fakes::openai::{ChatScript, OpenAiFake, OpenAiScript};

const KEY: &str = "APIbenchkey";
const SECRET: &str = "bench-livekit-secret-0123456789";
const STATE: &str = "lk.agent.state";
const DEFAULT_SESSIONS: [usize; 3] = [1, 50, 200];
/// The agents give up on their user after `agent::USER_WAIT` (120 s): all joins and the window
/// must fit well inside it.
const JOIN_DEADLINE: Duration = Duration::from_secs(90);
const SETTLE: Duration = Duration::from_secs(2);

fn main() {
    let counts = session_counts();
    let window = std::env::var("IDLE_WINDOW_SECS").ok().and_then(|s| s.parse().ok()).map_or(10, |s: u64| s.max(1));
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let variant = std::env::var("IDLE_VARIANT").unwrap_or_else(|_| "both".into());
    rt.block_on(async {
        let openai = OpenAiScript::new().chat(ChatScript::text(["Welcome to the Grand! ", "How can I help?"])).start();
        if variant != "listening" {
            bench(&counts, Duration::from_secs(window), None).await;
        }
        if variant != "waiting" {
            bench(&counts, Duration::from_secs(window), Some(&openai)).await;
        }
    });
}

/// Numbers among the arguments (`cargo bench` adds `--bench`), else `IDLE_SESSIONS`, else 1, 50, 200.
fn session_counts() -> Vec<usize> {
    let from_args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    if !from_args.is_empty() {
        return from_args;
    }
    match std::env::var("IDLE_SESSIONS") {
        Ok(list) => {
            list.split(',').map(|n| n.trim().parse().expect("IDLE_SESSIONS: numbers, comma-separated")).collect()
        }
        Err(_) => DEFAULT_SESSIONS.to_vec(),
    }
}

/// A config the worker accepts; no provider is called before a user joins.
fn room_config() -> String {
    voiceblox_tests::configs::concierge().to_string()
}

/// `voiceblox-host worker` against `livekit`, its stderr collected.
fn spawn_worker(livekit: &FakeLiveKit, openai: &str, max_jobs: usize) -> (Child, Arc<Mutex<Vec<String>>>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_voiceblox-host"))
        .args(["worker", "--health-addr", "127.0.0.1:0", "--drain-timeout", "1s", "--allow-host", "127.0.0.1"])
        .args(["--max-jobs", &max_jobs.to_string()])
        .arg("--plugins")
        .arg(default_plugins_dir())
        .env("LIVEKIT_URL", livekit.url())
        .env("LIVEKIT_API_KEY", KEY)
        .env("LIVEKIT_API_SECRET", SECRET)
        .env("OPENAI_API_KEY", "sk-bench")
        .env("OPENAI_BASE_URL", openai)
        .env("VOICEBLOX_CACHE_DIR", std::env::temp_dir().join("voiceblox-bench-cache"))
        .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting voiceblox-host worker (built by cargo for this bench)");
    let log = Arc::new(Mutex::new(Vec::new()));
    let stderr = child.stderr.take().expect("piped stderr");
    let sink = log.clone();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            sink.lock().expect("log").push(line);
        }
    });
    (child, log)
}

/// One reading of the child.
#[derive(Clone, Copy)]
struct Probe {
    rss_mb: f64,
    cpu_s: f64,
    threads: usize,
    fds: usize,
}

fn probe(pid: u32) -> Probe {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may contain spaces): utime and stime are 14 and 15.
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let ticks: f64 = fields.get(11..13).map_or(0.0, |f| f.iter().filter_map(|v| v.parse::<f64>().ok()).sum());
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count());
    Probe { rss_mb: field("VmRSS:") * 1024.0 / 1e6, cpu_s: ticks / 100.0, threads: field("Threads:") as usize, fds }
}

/// RSS at the end of `window`, CPU ms per second over it.
struct Rest {
    end: Probe,
    cpu_ms_per_s: f64,
}

async fn rest(pid: u32, window: Duration) -> Rest {
    let start = probe(pid);
    let t0 = Instant::now();
    tokio::time::sleep(window).await;
    let end = probe(pid);
    Rest { end, cpu_ms_per_s: (end.cpu_s - start.cpu_s) * 1000.0 / t0.elapsed().as_secs_f64() }
}

/// Agents whose `lk.agent.state = state` reached the SFU.
fn reached(livekit: &FakeLiveKit, state: &str) -> HashSet<String> {
    livekit
        .attribute_updates()
        .into_iter()
        .filter(|(_, _, attrs)| attrs.get(STATE).is_some_and(|s| s == state))
        .map(|(who, _, _)| who)
        .collect()
}

fn open_files_limit() -> String {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    limits.lines().find(|l| l.starts_with("Max open files")).map_or("unknown".into(), |l| {
        l.split_whitespace().skip(3).take(2).collect::<Vec<_>>().join(" soft / ") + " hard"
    })
}

async fn bench(counts: &[usize], window: Duration, openai: Option<&OpenAiFake>) {
    // Waiting: the agent joined and waits for its user (no provider is called: any URL does).
    let (what, state) = match openai {
        None => ("agent joined, waiting for its user", "initializing"),
        Some(_) => ("a user in each room, the agent greeted it and is listening", "listening"),
    };
    let openai_url = openai.map_or_else(|| "http://127.0.0.1:9".to_string(), OpenAiFake::base_url);
    println!();
    println!(
        "idle sessions in one `voiceblox-host worker` child process ({what}), {}s rest window; \
         baseline = the same process registered with 0 sessions",
        window.as_secs()
    );
    println!("open files limit (inherited by the worker): {}", open_files_limit());
    println!(
        "{:>8} {:>7} {:>9} {:>9} {:>12} {:>10} {:>10} {:>14} {:>9} {:>9} {:>11} {:>9}",
        "sessions",
        "ready",
        "RSS 0",
        "RSS N",
        "RSS/session",
        "CPU 0",
        "CPU N",
        "CPU/session",
        "CPU N/0",
        "threads",
        "fds",
        "join wall"
    );
    let metadata = room_config();
    for &n in counts {
        let livekit = FakeLiveKit::start(KEY, SECRET);
        let credentials = LiveKitCredentials::new(&livekit.url(), KEY, Secret::new(SECRET)).expect("credentials");
        let control = ControlPlane::new(credentials);
        let (mut child, log) = spawn_worker(&livekit, &openai_url, n + 10);
        let pid = child.id();
        let registered = Instant::now();
        while livekit.agent_workers().is_empty() {
            assert!(registered.elapsed() < Duration::from_secs(60), "the worker never registered: {:?}", log);
            assert!(child.try_wait().expect("child status").is_none(), "the worker exited: {:?}", log);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(SETTLE).await;
        let base = rest(pid, window).await;

        let started = Instant::now();
        let mut users = Vec::new();
        for i in 0..n {
            let room = format!("voiceblox-idle-{i}");
            control.create_room(&room, &metadata).await.expect("CreateRoom");
            if openai.is_some() {
                // The browser joins first, as it does with the token from POST /api/agent-session.
                let (user, mut events) = livekit.join(&room, &format!("user-{i}")).await.expect("the user joins");
                tokio::spawn(async move { while events.recv().await.is_some() {} });
                users.push(user);
            }
            control.create_dispatch(&room, "voiceblox", "").await.expect("CreateDispatch");
        }
        let mut count = 0;
        while started.elapsed() < JOIN_DEADLINE {
            count = reached(&livekit, state).len();
            if count >= n || child.try_wait().expect("child status").is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let join_wall = started.elapsed();
        tokio::time::sleep(SETTLE).await;
        let loaded = rest(pid, window).await;
        let agents = reached(&livekit, "initializing");
        let alive =
            livekit.rtc_participants().iter().filter(|p| p.connected && agents.contains(&p.info.identity)).count();
        let exited = child.try_wait().expect("child status");

        let per_session_mb = (loaded.end.rss_mb - base.end.rss_mb) / n.max(1) as f64;
        let per_session_cpu = (loaded.cpu_ms_per_s - base.cpu_ms_per_s) / n.max(1) as f64;
        let ratio = if base.cpu_ms_per_s > 0.0 {
            format!("{:.1}x", loaded.cpu_ms_per_s / base.cpu_ms_per_s)
        } else {
            "inf".into()
        };
        println!(
            "{n:>8} {:>7} {:>6.1} MB {:>6.1} MB {:>9.3} MB {:>5.2} ms/s {:>5.2} ms/s {:>9.4} ms/s {ratio:>9} {:>4}->{:<4} {:>5}->{:<5} {:>8.2}s",
            format!("{count}"),
            base.end.rss_mb,
            loaded.end.rss_mb,
            per_session_mb,
            base.cpu_ms_per_s,
            loaded.cpu_ms_per_s,
            per_session_cpu,
            base.end.threads,
            loaded.end.threads,
            base.end.fds,
            loaded.end.fds,
            join_wall.as_secs_f64()
        );
        // Evidence when something went wrong: lost agents, failed jobs, a dead worker, its log.
        let failed: Vec<String> = livekit
            .agent_jobs()
            .into_iter()
            .filter(|j| !j.error.is_empty() || j.availability_timed_out)
            .map(|j| format!("{}: {}", j.job.id, j.error))
            .collect();
        let lines = log.lock().expect("log").clone();
        let noteworthy: Vec<&String> = lines
            .iter()
            .filter(|l| !l.starts_with("voiceblox worker: health and metrics") && !l.contains("shutting down"))
            .collect();
        if count < n || alive < count || !failed.is_empty() || exited.is_some() || !noteworthy.is_empty() {
            println!(
                "    ! {n} sessions: {count} joined, {alive} still in their rooms after the window, {} failed jobs, \
                 worker {}; {} stderr lines",
                failed.len(),
                exited.map_or("running".into(), |s| format!("exited ({s})")),
                noteworthy.len()
            );
            for line in failed.iter().take(5) {
                println!("      job {line}");
            }
            for line in noteworthy.iter().take(10) {
                println!("      stderr: {line}");
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        for user in users {
            let _ = user.leave().await;
        }
    }
}
