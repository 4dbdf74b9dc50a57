//! The text of Server-Sent Events, as the graphql-sse protocol's distinct
//! connections mode uses them: `next` with one execution result, `complete`
//! at the end, comments to keep an idle stream open.

use axum::body::Bytes;

/// `event: next`, with `id: <cursor>` when the result can be resumed
/// after. `result` is JSON, which never holds a raw line break.
pub fn next(result: &str, id: Option<&str>) -> Bytes {
    let mut text = String::with_capacity(result.len() + 64);
    if let Some(id) = id {
        text.push_str("id: ");
        text.push_str(id);
        text.push('\n');
    }
    text.push_str("event: next\ndata: ");
    text.push_str(result);
    text.push_str("\n\n");
    Bytes::from(text)
}

/// `event: complete` with an empty `data:` line: a browser `EventSource`
/// dispatches only events that have data.
pub fn complete() -> Bytes {
    Bytes::from_static(b"event: complete\ndata:\n\n")
}

/// A comment line: nothing to the client, traffic to every proxy between.
pub fn keepalive() -> Bytes {
    Bytes::from_static(b":\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_framed_as_the_protocol_says() {
        assert_eq!(
            next(r#"{"data":{}}"#, Some("abc")),
            "id: abc\nevent: next\ndata: {\"data\":{}}\n\n"
        );
        assert_eq!(next("{}", None), "event: next\ndata: {}\n\n");
        assert_eq!(complete(), "event: complete\ndata:\n\n");
    }
}
