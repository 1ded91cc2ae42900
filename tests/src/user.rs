//! What a test does as the user of a session, whatever carries it (a LiveKit room, a direct
//! call): speak, listen, wait for the agent's events.

use std::future::Future;

use serde_json::Value;

use crate::direct_user::DirectUser;
use crate::room_user::RoomUser;

pub trait TestUser {
    /// Says `samples` (48 kHz mono) on a real 20 ms clock; returns at once.
    fn speak(&self, samples: Vec<i16>);
    /// What the user heard so far (48 kHz mono).
    fn heard(&self) -> Vec<i16>;
    /// Waits for an agent event matching `wanted` (those already received count).
    fn until_event(&mut self, what: &str, wanted: impl Fn(&Value) -> bool) -> impl Future<Output = Value>;
}

impl TestUser for RoomUser {
    fn speak(&self, samples: Vec<i16>) {
        RoomUser::speak(self, samples)
    }

    fn heard(&self) -> Vec<i16> {
        RoomUser::heard(self)
    }

    fn until_event(&mut self, what: &str, wanted: impl Fn(&Value) -> bool) -> impl Future<Output = Value> {
        RoomUser::until_event(self, what, wanted)
    }
}

impl TestUser for DirectUser {
    fn speak(&self, samples: Vec<i16>) {
        DirectUser::speak(self, samples)
    }

    fn heard(&self) -> Vec<i16> {
        DirectUser::heard(self)
    }

    fn until_event(&mut self, what: &str, wanted: impl Fn(&Value) -> bool) -> impl Future<Output = Value> {
        DirectUser::until_event(self, what, wanted)
    }
}
