//! Inputs a fake has scheduled, in time order (ties in the order they were scheduled).

use std::time::Instant;

use voiceblox_host::voice::machine::Input;

#[derive(Debug, Default)]
pub(crate) struct Pending(Vec<(Instant, Input)>);

impl Pending {
    pub fn push(&mut self, at: Instant, input: Input) {
        let index = self.0.partition_point(|(t, _)| *t <= at);
        self.0.insert(index, (at, input));
    }

    pub fn next_at(&self) -> Option<Instant> {
        self.0.first().map(|(at, _)| *at)
    }

    pub fn pop_due(&mut self, now: Instant) -> Option<Input> {
        if self.next_at()? <= now { Some(self.0.remove(0).1) } else { None }
    }

    pub fn clear(&mut self) {
        self.0.clear();
    }
}
