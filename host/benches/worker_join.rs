//! Job assignment → agent in the room: how long the real worker (`Worker::run` +
//! `SessionRunner`, the shipped plugins) takes from LiveKit sending `assignment` until the SFU
//! receives the agent's first `lk.agent.state` (`initializing`), against the fake LiveKit
//! (Twirp, `/agent`, `/rtc` with str0m peer connections) on loopback.
//!
//! Both instants are taken inside the fake: when it sends the assignment, and when its SFU
//! receives the `update_metadata`. Each job gets a fresh room (CreateRoom with an AgentConfig,
//! CreateDispatch) and ends with DeleteRoom before the next starts.
//!
//! Baseline, same run: a plain client with a fresh token doing `Room::connect` +
//! `set_attributes` against the same fake (the cost of joining a room at all).
//!
//! `cargo bench -p voiceblox-host --bench worker_join`

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use voiceblox_host::egress::secret::Secret;
use voiceblox_host::egress::{HostPattern, NetworkPolicy};
use voiceblox_host::plugin::{
    CompileCache, PluginEngine, PluginRegistry, PluginRuntime, SandboxLimits, Timeouts, default_plugins_dir,
};
use voiceblox_host::transport::livekit::room::{Room, RoomOptions};
use voiceblox_host::transport::livekit::{ControlPlane, LiveKitCredentials};
use voiceblox_host::worker::{SessionRunner, Worker, WorkerConfig};
use voiceblox_tests::fakes::livekit::FakeLiveKit;

const KEY: &str = "APIbenchkey";
const SECRET: &str = "bench-livekit-secret-0123456789";
const JOBS: usize = 50;
const WARMUP: usize = 5;
const STATE: &str = "lk.agent.state";
const WAIT: Duration = Duration::from_secs(20);
/// Joins at or above this waited for an ICE pacing tick (50 ms) on top of the ~6 ms join: the
/// regression the peers' `wake_ice` fixed shows here first.
const ICE_STEP: Duration = Duration::from_millis(30);

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    rt.block_on(bench());
}

/// A config the worker accepts; no provider is called before a user joins.
fn room_config() -> String {
    voiceblox_tests::configs::concierge().to_string()
}

async fn runtime() -> PluginRuntime {
    let engine = PluginEngine::new(SandboxLimits::default()).expect("plugin engine");
    let cache = CompileCache::new(Some(std::env::temp_dir().join("voiceblox-bench-cache")));
    let registry = PluginRegistry::load_dir(&engine, &cache, &default_plugins_dir()).await;
    assert!(registry.failures().is_empty(), "plugins refused: {:?}", registry.failures());
    let policy = NetworkPolicy::default().allow(HostPattern::parse("127.0.0.1").expect("pattern"));
    PluginRuntime::new(registry, policy, Timeouts::default()).expect("plugin runtime").with_env(Arc::new(|name| {
        match name {
            // Never called: the agent waits for a user that does not come.
            "OPENAI_API_KEY" => Some("sk-bench".into()),
            "OPENAI_BASE_URL" => Some("http://127.0.0.1:9".into()),
            _ => None,
        }
    }))
}

/// When the SFU received `identity`'s first `lk.agent.state = initializing`.
async fn initializing_at(livekit: &FakeLiveKit, identity: &str) -> Instant {
    let found = |lk: &FakeLiveKit| {
        lk.attribute_updates()
            .into_iter()
            .find(|(who, _, attrs)| who == identity && attrs.get(STATE).is_some_and(|s| s == "initializing"))
            .map(|(_, at, _)| at)
    };
    livekit.wait_until(&format!("{identity}'s {STATE}"), WAIT, |lk| found(lk).is_some()).await;
    found(livekit).expect("just seen")
}

/// Until `identity` has left the room (so jobs never overlap).
async fn gone(livekit: &FakeLiveKit, identity: &str) {
    livekit
        .wait_until(&format!("{identity} leaving"), WAIT, |lk| {
            lk.rtc_participant(identity).is_some_and(|p| !p.connected)
        })
        .await;
}

async fn bench() {
    let livekit = FakeLiveKit::start(KEY, SECRET);
    let credentials = LiveKitCredentials::new(&livekit.url(), KEY, Secret::new(SECRET)).expect("credentials");
    let control = ControlPlane::new(credentials.clone());
    let config = WorkerConfig::new(credentials);
    let runner = Arc::new(SessionRunner::new(runtime().await, config.metrics.clone(), config.credentials.clone()));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(async move { Worker::run(config, runner, async move { drop(stopped.await) }).await });
    livekit.wait_for("the worker's registration", |lk| lk.agent_workers().into_iter().next()).await;
    let metadata = room_config();

    // Through the worker.
    let mut joins = Vec::new();
    let mut cold = Duration::ZERO;
    for round in 0..WARMUP + JOBS {
        let room = format!("voiceblox-join-{round}");
        control.create_room(&room, &metadata).await.expect("CreateRoom");
        let dispatch = control.create_dispatch(&room, "voiceblox", "").await.expect("CreateDispatch");
        let job = livekit
            .wait_for("the assignment", |lk| {
                lk.agent_jobs().into_iter().find(|j| j.job.dispatch_id == dispatch.id && j.assigned_at.is_some())
            })
            .await;
        let assigned = job.assigned_at.expect("assigned");
        let joined = initializing_at(&livekit, &job.participant_identity).await;
        let took = joined - assigned;
        if round == 0 {
            cold = took;
        }
        if round >= WARMUP {
            joins.push(took);
        }
        control.delete_room(&room).await.expect("DeleteRoom");
        gone(&livekit, &job.participant_identity).await;
    }

    // Baseline: a plain client joins with a fresh token and sets the same attribute.
    let mut bare = Vec::new();
    for round in 0..WARMUP + JOBS {
        let room = format!("voiceblox-bare-{round}");
        let identity = format!("bare-{round}");
        control.create_room(&room, &metadata).await.expect("CreateRoom");
        let token = livekit.participant_token(&room, &identity);
        let t0 = Instant::now();
        let (client, _events) = Room::connect(&livekit.url(), &token, RoomOptions::default()).await.expect("join");
        let attributes = HashMap::from([(STATE.to_string(), "initializing".to_string())]);
        client.set_attributes(attributes).await.expect("set_attributes");
        let joined = initializing_at(&livekit, &identity).await;
        if round >= WARMUP {
            bare.push(joined - t0);
        }
        client.leave().await.expect("leave");
        control.delete_room(&room).await.expect("DeleteRoom");
        gone(&livekit, &identity).await;
    }

    drop(stop);
    worker.await.expect("worker task").expect("worker");

    println!(
        "worker join: assignment sent -> first {STATE} received by the SFU, {JOBS} sequential jobs \
         (after {WARMUP} warm-up), fake LiveKit on loopback"
    );
    if std::env::var_os("WORKER_JOIN_SAMPLES").is_some() {
        let ms =
            |v: &[Duration]| v.iter().map(|d| format!("{:.1}", d.as_secs_f64() * 1000.0)).collect::<Vec<_>>().join(" ");
        println!("worker samples (ms, in order): {}", ms(&joins));
        println!("bare samples (ms, in order):   {}", ms(&bare));
    }
    let (jm, jp, jx) = stats(&mut joins);
    let (bm, bp, bx) = stats(&mut bare);
    let row = |name: &str, samples: &[Duration], (m, p, x): (Duration, Duration, Duration)| {
        let slow = samples.iter().filter(|d| **d >= ICE_STEP).count() * 100 / samples.len();
        println!("{name:<46} {:>10} {:>10} {:>10} {:>10} {slow:>9}%", fmt(m), fmt(p), fmt(x), fmt(mean(samples)));
    };
    println!("{:<46} {:>10} {:>10} {:>10} {:>10} {:>10}", "path", "median", "p95", "max", "mean", ">= 30 ms");
    row("worker: assignment -> agent joined + state", &joins, (jm, jp, jx));
    row("baseline: Room::connect + set_attributes", &bare, (bm, bp, bx));
    println!(
        "ratio worker/baseline: {:.2}x median, {:.2}x mean; first job (cold): {}",
        jm.as_secs_f64() / bm.as_secs_f64(),
        mean(&joins).as_secs_f64() / mean(&bare).as_secs_f64(),
        fmt(cold)
    );
}

fn mean(samples: &[Duration]) -> Duration {
    samples.iter().sum::<Duration>() / u32::try_from(samples.len()).unwrap_or(u32::MAX).max(1)
}

/// Median, p95 and max.
fn stats(samples: &mut [Duration]) -> (Duration, Duration, Duration) {
    samples.sort();
    let p95 = ((samples.len() * 95).div_ceil(100)).saturating_sub(1);
    (samples[samples.len() / 2], samples[p95], samples[samples.len() - 1])
}

fn fmt(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}
