//! `multipart/form-data` bodies (RFC 7578) for file uploads.

/// A form being built. The boundary is chosen when the body is finished, so it can be checked
/// against the content: a plugin has no randomness, so it picks one that does not occur.
#[derive(Debug, Default)]
pub struct Form {
    parts: Vec<Part>,
}

#[derive(Debug)]
struct Part {
    disposition: String,
    content_type: Option<String>,
    content: Vec<u8>,
}

impl Form {
    pub fn new() -> Self {
        Self::default()
    }

    /// A text field.
    pub fn text(&mut self, name: &str, value: &str) -> &mut Self {
        self.parts.push(Part {
            disposition: format!("form-data; name=\"{}\"", quote(name)),
            content_type: None,
            content: value.as_bytes().to_vec(),
        });
        self
    }

    /// A file field.
    pub fn file(&mut self, name: &str, filename: &str, content_type: &str, content: Vec<u8>) -> &mut Self {
        self.parts.push(Part {
            disposition: format!("form-data; name=\"{}\"; filename=\"{}\"", quote(name), quote(filename)),
            content_type: Some(content_type.to_string()),
            content,
        });
        self
    }

    /// The `Content-Type` header value and the body.
    pub fn finish(self) -> (String, Vec<u8>) {
        let boundary = self.boundary();
        let mut body = Vec::with_capacity(self.parts.iter().map(|p| p.content.len() + 128).sum());
        for part in &self.parts {
            body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: {}\r\n", part.disposition).as_bytes());
            if let Some(content_type) = &part.content_type {
                body.extend_from_slice(format!("Content-Type: {content_type}\r\n").as_bytes());
            }
            body.extend_from_slice(b"\r\n");
            body.extend_from_slice(&part.content);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        (format!("multipart/form-data; boundary={boundary}"), body)
    }

    fn boundary(&self) -> String {
        (0u32..)
            .map(|n| format!("voiceblox-form-boundary-{n:08x}"))
            .find(|candidate| !self.parts.iter().any(|p| contains(&p.content, candidate.as_bytes())))
            .unwrap_or_default()
    }
}

/// Field names and file names are ours, but keep them well-formed anyway.
fn quote(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace(['\r', '\n'], " ")
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_file_parts() {
        let mut form = Form::new();
        form.text("model", "whisper-1").file("file", "audio.wav", "audio/wav", vec![0, 1, 2]);
        let (content_type, body) = form.finish();
        assert_eq!(content_type, "multipart/form-data; boundary=voiceblox-form-boundary-00000000");
        let mut expected = b"--voiceblox-form-boundary-00000000\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nwhisper-1\r\n--voiceblox-form-boundary-00000000\r\nContent-Disposition: form-data; name=\"file\"; filename=\"audio.wav\"\r\nContent-Type: audio/wav\r\n\r\n".to_vec();
        expected.extend_from_slice(&[0, 1, 2]);
        expected.extend_from_slice(b"\r\n--voiceblox-form-boundary-00000000--\r\n");
        assert_eq!(body, expected);
    }

    #[test]
    fn boundary_avoids_the_content() {
        let mut form = Form::new();
        form.text("prompt", "voiceblox-form-boundary-00000000 and voiceblox-form-boundary-00000001");
        let (content_type, _) = form.finish();
        assert!(content_type.ends_with("voiceblox-form-boundary-00000002"), "{content_type}");
    }

    #[test]
    fn names_are_quoted() {
        let mut form = Form::new();
        form.text("timestamp_granularities[]", "word").file("f", "a\"b.wav", "audio/wav", Vec::new());
        let (_, body) = form.finish();
        let body = String::from_utf8(body).unwrap();
        assert!(body.contains("name=\"timestamp_granularities[]\""));
        assert!(body.contains("filename=\"a\\\"b.wav\""));
    }
}
