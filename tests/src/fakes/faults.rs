//! Faults scripted on a transcription session's audio clock: "once this much audio has been
//! received, close the socket (or drop the connection)". The first one due ends the session, and
//! nothing scheduled after it is produced.

use super::ws::Out;

/// A scripted way for the session to end early, once this much audio has been received.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Fault {
    Close { code: u16, reason: String },
    Drop,
}

impl Fault {
    fn out(self) -> Out {
        match self {
            Fault::Close { code, reason } => Out::Close { code, reason },
            Fault::Drop => Out::Drop,
        }
    }
}

/// A session's scripted faults, in audio order, and whether one has fired.
pub(crate) struct FaultSchedule {
    faults: Vec<(f64, Fault)>,
    next: usize,
    /// A fault ended the session: nothing more is produced.
    ended: bool,
}

impl FaultSchedule {
    /// `faults` as `(audio_ms, fault)`, in any order.
    pub(crate) fn new(mut faults: Vec<(f64, Fault)>) -> Self {
        faults.sort_by(|a, b| a.0.total_cmp(&b.0));
        FaultSchedule { faults, next: 0, ended: false }
    }

    pub(crate) fn ended(&self) -> bool {
        self.ended
    }

    /// Once `audio_ms` of audio has been received: how far the session's output may run, and
    /// the fault's output that ends it there if one is due. `None` once a fault ended it.
    pub(crate) fn due(&mut self, audio_ms: f64) -> Option<(f64, Option<Out>)> {
        if self.ended {
            return None;
        }
        match self.faults.get(self.next).cloned() {
            Some((at, fault)) if at <= audio_ms => {
                self.next += 1;
                self.ended = true;
                Some((at, Some(fault.out())))
            }
            _ => Some((audio_ms, None)),
        }
    }
}
