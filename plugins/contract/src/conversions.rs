//! Where the contract's generated types meet the kit's plain ones: the kit's streams and
//! failures are written once against [`requests::Input`], [`Output`], [`SpeechEvent`] and
//! [`Failure`], and these conversions serve every adapter.

use voiceblox_plugin_kit::failure::Failure;
use voiceblox_plugin_kit::requests::{self, Output};
use voiceblox_plugin_kit::speech::SpeechEvent;
use voiceblox_plugin_kit::sse_request::{SseReply, SseRequest};
use voiceblox_plugin_kit::status::ErrorClass;

use crate::types::{Action, Event, HttpRequest, Input, ProviderError, RateLimit, TtsAudio, TtsEvent};

impl From<Input> for requests::Input {
    fn from(input: Input) -> Self {
        match input {
            Input::Text(text) => Self::Text(text),
            Input::Audio(frame) => Self::Audio(frame),
            Input::Flush => Self::Flush,
            Input::End => Self::End,
            Input::HttpResponse((id, head)) => {
                let headers = head.headers.into_iter().map(|header| (header.name, header.value)).collect();
                Self::Head { id, status: head.status, headers }
            }
            Input::HttpBody((id, bytes)) => Self::Body { id, bytes },
            Input::HttpEnd(id) => Self::BodyEnd(id),
            Input::Start | Input::WsOpen | Input::WsMessage(_) | Input::WsClosed(_) | Input::Timer(_) => Self::Other,
        }
    }
}

impl<V: Into<Event>, E: Into<ProviderError>> From<Output<HttpRequest, V, E>> for Action {
    fn from(output: Output<HttpRequest, V, E>) -> Self {
        match output {
            Output::Request(id, request) => Action::HttpRequest((id, request)),
            Output::Emit(event) => Action::Emit(event.into()),
            Output::Finish => Action::Finish,
            Output::Fail(error) => Action::Fail(error.into()),
        }
    }
}

/// Feeds a contract input to a streamed-SSE request: `start` sends it, the HTTP inputs are its
/// response; what it asks for comes back as actions.
pub fn drive_sse<R>(request: &mut SseRequest<HttpRequest, R>, input: Input) -> Vec<Action>
where
    R: SseReply<Event = Event, Error = ProviderError>,
{
    let outputs = match input {
        Input::Start => request.start(),
        input => request.response(input.into()),
    };
    outputs.into_iter().map(Action::from).collect()
}

impl From<SpeechEvent> for Event {
    fn from(event: SpeechEvent) -> Self {
        Event::Tts(match event {
            SpeechEvent::Audio { pcm, sample_rate } => TtsEvent::Audio(TtsAudio { pcm, sample_rate }),
            SpeechEvent::Flushed => TtsEvent::Flushed,
        })
    }
}

impl From<Failure> for ProviderError {
    fn from(failure: Failure) -> Self {
        let (class, message, retry_after_ms) = match failure {
            Failure::Classified { class, message, retry_after_ms } => (class, message, retry_after_ms),
            Failure::Protocol(message) => return ProviderError::Protocol(message),
        };
        match class {
            ErrorClass::Unauthorized => ProviderError::Unauthorized(message),
            ErrorClass::RateLimited => ProviderError::RateLimited(RateLimit { message, retry_after_ms }),
            ErrorClass::InvalidRequest => ProviderError::InvalidRequest(message),
            ErrorClass::Timeout => ProviderError::Timeout(message),
            ErrorClass::Unavailable => ProviderError::Unavailable(message),
        }
    }
}
