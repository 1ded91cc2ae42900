//! A user in a LiveKit room, as a test sees it: joined with the host's own room client (the
//! browser's side of a session), reading the agent's events and state, talking into a
//! microphone and recording what it hears.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;
use voiceblox_host::audio::AudioFrame;
use voiceblox_host::events::EVENTS_TOPIC;
use voiceblox_host::transport::livekit::room::{Room, RoomError, RoomEvent, RoomOptions};

/// How long a user waits for anything the agent should do; a working agent takes milliseconds.
pub const AGENT_WAIT: Duration = Duration::from_secs(15);

pub struct RoomUser {
    pub room: Room,
    events: mpsc::Receiver<RoomEvent>,
    /// Every agent event received so far, with its sender's identity.
    agent_events: Vec<(String, Value)>,
    /// Every `lk.agent.state` value seen on other participants, in order.
    agent_states: Vec<String>,
    /// Identities seen leaving.
    departed: Vec<String>,
    disconnected: Option<String>,
    /// The microphone, once audio started.
    microphone: Option<mpsc::Sender<AudioFrame>>,
    /// Everything heard since audio started (48 kHz mono).
    heard: Arc<Mutex<Vec<i16>>>,
}

/// Sends `samples` (48 kHz mono) into `output` as 20 ms frames on a real 20 ms clock, as a
/// microphone delivers them and as the voice loop paces the agent's speech.
pub async fn speak_into(output: mpsc::Sender<AudioFrame>, samples: Vec<i16>) {
    let mut clock = tokio::time::interval(Duration::from_millis(20));
    for frame in samples.chunks(960) {
        clock.tick().await;
        let Ok(frame) = AudioFrame::new(frame.to_vec(), 48_000, 1) else { return };
        if output.send(frame).await.is_err() {
            return;
        }
    }
}

impl RoomUser {
    /// Joins at `url` with a browser token, as a page given `{token, serverUrl}` would.
    pub async fn join(url: &str, token: &str) -> Result<Self, RoomError> {
        let (room, events) = Room::connect(url, token, RoomOptions::default()).await?;
        let agent_states =
            room.remote_participants().iter().filter_map(|p| p.attributes.get("lk.agent.state").cloned()).collect();
        Ok(Self {
            room,
            events,
            agent_events: Vec::new(),
            agent_states,
            departed: Vec::new(),
            disconnected: None,
            microphone: None,
            heard: Arc::default(),
        })
    }

    /// Publishes a microphone and records what `speaker` (an identity) says from now on.
    pub async fn start_audio(&mut self, speaker: &str) -> Result<(), RoomError> {
        let mut audio = self.room.start_audio(Some(speaker.to_string())).await?;
        self.microphone = Some(audio.output);
        let heard = self.heard.clone();
        tokio::spawn(async move {
            while let Some(frame) = audio.input.recv().await {
                heard.lock().unwrap_or_else(PoisonError::into_inner).extend(frame.samples());
            }
        });
        Ok(())
    }

    /// Says `samples` (48 kHz mono) into the microphone, 20 ms at a time on a real clock, as a
    /// browser's microphone delivers them; returns at once.
    pub fn speak(&self, samples: Vec<i16>) {
        let microphone = self.microphone.clone().expect("start_audio before speak");
        tokio::spawn(speak_into(microphone, samples));
    }

    /// What the user heard so far (48 kHz mono).
    pub fn heard(&self) -> Vec<i16> {
        self.heard.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Waits for an agent event matching `wanted` (events already received count) and returns it.
    pub async fn until_event(&mut self, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        if let Some((_, event)) = self.agent_events.iter().find(|(_, e)| wanted(e)) {
            return event.clone();
        }
        self.pump(what, |user| user.agent_events.last().filter(|(_, e)| wanted(e)).map(|(_, e)| e.clone())).await
    }

    /// Waits until `identity` has left the room, or the room itself closed.
    pub async fn until_gone(&mut self, identity: &str) {
        let what = format!("{identity} leaving");
        self.pump(&what, |user| {
            (user.departed.iter().any(|d| d == identity) || user.disconnected.is_some()).then_some(())
        })
        .await
    }

    /// Waits until some participant's `lk.agent.state` is `state`.
    pub async fn until_agent_state(&mut self, state: &str) {
        let what = format!("lk.agent.state = {state}");
        self.pump(&what, |user| user.agent_states.iter().any(|s| s == state).then_some(())).await
    }

    /// The agent events received so far, with their senders.
    pub fn agent_events(&self) -> &[(String, Value)] {
        &self.agent_events
    }

    pub fn agent_states(&self) -> &[String] {
        &self.agent_states
    }

    /// Reads room events until `done` yields (checked after each), or panics after [`AGENT_WAIT`].
    async fn pump<T>(&mut self, what: &str, mut done: impl FnMut(&Self) -> Option<T>) -> T {
        let deadline = tokio::time::Instant::now() + AGENT_WAIT;
        loop {
            if let Some(found) = done(self) {
                return found;
            }
            let event = match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(event)) => event,
                Ok(None) => panic!("the room closed before {what}; events so far: {:?}", self.agent_events),
                Err(_) => panic!("no {what} within {AGENT_WAIT:?}; events so far: {:?}", self.agent_events),
            };
            self.record(event);
        }
    }

    fn record(&mut self, event: RoomEvent) {
        match event {
            RoomEvent::Data { participant_identity, topic, payload, .. } if topic.as_deref() == Some(EVENTS_TOPIC) => {
                match serde_json::from_slice(&payload) {
                    Ok(value) => self.agent_events.push((participant_identity, value)),
                    Err(error) => panic!("an agent event that is not JSON ({error}): {payload:?}"),
                }
            }
            RoomEvent::ParticipantConnected(p) | RoomEvent::ParticipantUpdated(p) => {
                if let Some(state) = p.attributes.get("lk.agent.state")
                    && self.agent_states.last() != Some(state)
                {
                    self.agent_states.push(state.clone());
                }
            }
            RoomEvent::ParticipantDisconnected(p) => self.departed.push(p.identity),
            RoomEvent::Disconnected { reason } => self.disconnected = Some(reason),
            RoomEvent::Data { .. } => {}
        }
    }
}
