//! A plugin's CPU time: the per-call deadline and the per-stream budget.
//!
//! The engine's epoch advances every [`EPOCH_TICK`] of wall time; each guest call is armed to
//! be interrupted at the next tick. At every tick a running call reaches, the meter reads the
//! thread's own CPU clock and adds what the guest used since the previous tick, so the deadline
//! counts the guest's CPU time, not wall time: on a busy machine a call that was not scheduled
//! is not charged for the wait. Calls that end before the next tick (nearly all) cost nothing
//! extra: no clock is read for them.
//!
//! The stream budget charges each call that spanned a tick with what was measured plus one
//! tick (the unmeasured head and tail together average one tick). Shorter calls are charged
//! nothing; a call spans a tick with a probability proportional to its length, so over many
//! calls the charge matches the time spent without reading a clock per call.

use std::collections::VecDeque;
use std::thread::{self, ThreadId};
use std::time::Duration;

use tokio::time::Instant;
use wasmtime::UpdateDeadline;

use super::limits::EPOCH_TICK;

/// A call used more CPU time than its deadline allows.
#[derive(Debug, thiserror::Error)]
#[error("plugin call used {used_ms} ms of CPU time; the deadline is {deadline_ms} ms")]
pub struct CpuDeadlineExceeded {
    pub used_ms: u128,
    pub deadline_ms: u128,
}

/// Per-instance CPU accounting, kept in the Store.
pub struct CpuMeter {
    deadline: Duration,
    /// CPU time measured in the current call.
    used: Duration,
    /// The thread and its CPU clock at the last tick of the current call.
    sample: Option<(ThreadId, Duration)>,
    /// Whether the current call reached a tick.
    ticked: bool,
}

impl CpuMeter {
    pub fn new(deadline: Duration) -> Self {
        Self { deadline, used: Duration::ZERO, sample: None, ticked: false }
    }

    /// Starts accounting for a new call.
    pub fn begin_call(&mut self) {
        self.used = Duration::ZERO;
        self.sample = None;
        self.ticked = false;
    }

    /// At a tick inside a call: measure, then stop the call or let it run to the next tick.
    pub fn on_tick(&mut self) -> wasmtime::Result<UpdateDeadline> {
        let now = thread_cpu_time();
        let me = thread::current().id();
        // A fiber resumed on another thread has no comparable sample: that stretch is skipped.
        if let Some((thread, last)) = self.sample
            && thread == me
        {
            self.used += now.saturating_sub(last);
        }
        self.sample = Some((me, now));
        self.ticked = true;
        if self.used >= self.deadline {
            return Err(
                CpuDeadlineExceeded { used_ms: self.used.as_millis(), deadline_ms: self.deadline.as_millis() }.into()
            );
        }
        Ok(UpdateDeadline::Continue(1))
    }

    /// What the call that just ended is charged against its stream's budget.
    pub fn charge(&self) -> Duration {
        if self.ticked { self.used + EPOCH_TICK } else { Duration::ZERO }
    }
}

fn thread_cpu_time() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(u64::try_from(t.tv_sec).unwrap_or(0), u32::try_from(t.tv_nsec).unwrap_or(0))
}

/// A stream's CPU budget: at most `budget` of guest time in any `window`.
#[derive(Debug)]
pub struct CpuBudget {
    budget: Duration,
    window: Duration,
    charges: VecDeque<(Instant, Duration)>,
    total: Duration,
}

/// A stream spent more CPU time than its budget allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetExceeded {
    pub used: Duration,
}

impl CpuBudget {
    pub fn new(budget: Duration, window: Duration) -> Self {
        Self { budget, window, charges: VecDeque::new(), total: Duration::ZERO }
    }

    /// Records a call's charge at `now`; fails once the window holds more than the budget.
    pub fn charge(&mut self, amount: Duration, now: Instant) -> Result<(), BudgetExceeded> {
        if amount.is_zero() {
            return Ok(());
        }
        while let Some(&(at, old)) = self.charges.front() {
            if now.duration_since(at) < self.window {
                break;
            }
            self.total = self.total.saturating_sub(old);
            self.charges.pop_front();
        }
        self.charges.push_back((now, amount));
        self.total += amount;
        if self.total > self.budget { Err(BudgetExceeded { used: self.total }) } else { Ok(()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_a_sliding_window() {
        let start = Instant::now();
        let ms = Duration::from_millis;
        let mut budget = CpuBudget::new(ms(100), ms(1000));
        assert!(budget.charge(ms(60), start).is_ok());
        assert!(budget.charge(Duration::ZERO, start).is_ok());
        assert_eq!(budget.charge(ms(50), start + ms(500)), Err(BudgetExceeded { used: ms(110) }));
        // The first charge has left the window a second later.
        let mut budget = CpuBudget::new(ms(100), ms(1000));
        budget.charge(ms(60), start).unwrap();
        assert!(budget.charge(ms(60), start + ms(1000)).is_ok());
    }

    #[test]
    fn waiting_is_not_charged_only_the_threads_own_cpu_time_is() {
        // A call whose thread is not running (here: asleep, as under a busy machine's
        // scheduler) passes many ticks of wall time without coming near its deadline.
        let mut meter = CpuMeter::new(Duration::from_millis(20));
        meter.begin_call();
        for _ in 0..20 {
            std::thread::sleep(Duration::from_millis(5));
            meter.on_tick().expect("sleeping uses no CPU time");
        }
        assert!(meter.charge() < Duration::from_millis(20), "{:?}", meter.charge());
    }

    #[test]
    fn a_call_that_reaches_no_tick_is_not_charged_and_a_busy_one_is_stopped() {
        let mut meter = CpuMeter::new(Duration::from_millis(20));
        meter.begin_call();
        assert_eq!(meter.charge(), Duration::ZERO);
        // Burn real CPU between ticks until the deadline trips.
        let mut stopped = None;
        for _ in 0..1000 {
            let spin = std::time::Instant::now();
            while spin.elapsed() < Duration::from_millis(5) {
                std::hint::black_box(0u64);
            }
            if let Err(error) = meter.on_tick() {
                stopped = Some(error);
                break;
            }
        }
        let error = stopped.expect("the deadline stops a busy call");
        assert!(error.downcast_ref::<CpuDeadlineExceeded>().is_some(), "{error}");
        assert!(meter.charge() >= Duration::from_millis(20) + EPOCH_TICK);
    }
}
