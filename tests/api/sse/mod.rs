//! GraphQL over SSE (graphql-sse's distinct connections mode): a client
//! that reads the real event stream, and the protocol's rules.

mod auth;
mod protocol;
mod resume;

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::time::timeout;

use crate::helpers::Endpoint;
use crate::shape;

/// How long one event may take to arrive.
const PATIENCE: Duration = Duration::from_secs(5);

/// One event of a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// `event: next` (or `complete`) with its data and id.
    Event {
        event: String,
        data: String,
        id: Option<String>,
    },
    /// A comment line (`:`): a keepalive.
    Comment,
}

/// An open event stream.
pub struct SseStream {
    response: reqwest::Response,
    buffer: String,
    /// The request body, to check each result against what it selected.
    request: Value,
}

/// How to send an operation.
pub struct Open<'a> {
    pub path: &'a str,
    pub token: Option<&'a str>,
    pub headers: Vec<(&'a str, String)>,
    /// `GET` with the operation in the query string, else `POST`.
    pub get: bool,
}

impl Default for Open<'_> {
    fn default() -> Self {
        Open {
            path: "/graphql/stream",
            token: None,
            headers: Vec::new(),
            get: false,
        }
    }
}

impl<'a> Open<'a> {
    /// A POST to `/graphql/stream` with `Authorization: Bearer <token>`.
    pub fn bearer(token: &'a str) -> Self {
        Open {
            token: Some(token),
            ..Open::default()
        }
    }

    /// Sends `query` with `variables`: the open stream, or the refusal's
    /// status and JSON body.
    pub async fn send(
        &self,
        app: &Endpoint,
        query: &str,
        variables: Value,
    ) -> Result<SseStream, (StatusCode, Value)> {
        let body = json!({ "query": query, "variables": variables });
        let url = format!("{}{}", app.address, self.path);
        let mut request = if self.get {
            let mut url = reqwest::Url::parse(&url).unwrap();
            url.query_pairs_mut()
                .append_pair("query", query)
                .append_pair("variables", &variables.to_string());
            app.http.get(url)
        } else {
            app.http.post(url).json(&body)
        };
        request = request.header("accept", "text/event-stream");
        if let Some(token) = self.token {
            request = request.bearer_auth(token);
        }
        for (name, value) in &self.headers {
            request = request.header(*name, value);
        }
        let response = request.send().await.expect("request failed");
        let media = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        if response.status() != StatusCode::OK {
            let status = response.status();
            assert!(
                media.starts_with("application/json"),
                "a refusal as {media}"
            );
            let refusal = response.json().await.expect("a JSON refusal");
            return Err((status, refusal));
        }
        assert_eq!(media, "text/event-stream");
        Ok(SseStream {
            response,
            buffer: String::new(),
            request: body,
        })
    }
}

impl SseStream {
    /// The next frame, skipping `retry:` fields; `None` when the stream
    /// ended. Fails after [`PATIENCE`] of silence.
    pub async fn frame(&mut self) -> Option<Frame> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                if let Some(frame) = parse(&block) {
                    return Some(frame);
                }
                continue;
            }
            let chunk = timeout(PATIENCE, self.response.chunk())
                .await
                .expect("no event in time")
                .expect("the stream failed");
            let chunk = chunk?;
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    /// Nothing but keepalives may arrive for `period`.
    pub async fn silent_for(&mut self, period: Duration) {
        if let Ok(frame) = timeout(period, self.frame()).await {
            assert!(
                matches!(frame, Some(Frame::Comment)),
                "expected silence, got {frame:?}"
            );
        }
    }

    /// The next `next` event's result (checked against the schema and the
    /// request) and id; keepalives skipped; fails on anything else.
    pub async fn next(&mut self) -> (Value, Option<String>) {
        loop {
            match self.frame().await {
                Some(Frame::Comment) => continue,
                Some(Frame::Event { event, data, id }) if event == "next" => {
                    let result: Value = serde_json::from_str(&data).expect("JSON data");
                    shape::check(&self.request, &result);
                    return (result, id);
                }
                other => panic!("expected next, got {other:?}"),
            }
        }
    }

    /// The next event must be `complete` (keepalives skipped), and the
    /// stream must end after it.
    pub async fn complete(&mut self) {
        loop {
            match self.frame().await {
                Some(Frame::Comment) => continue,
                Some(Frame::Event { event, data, .. }) if event == "complete" => {
                    assert_eq!(data, "");
                    break;
                }
                other => panic!("expected complete, got {other:?}"),
            }
        }
        assert_eq!(self.frame().await, None, "something after complete");
    }
}

/// One block of lines; `None` for a block with only fields to skip.
fn parse(block: &str) -> Option<Frame> {
    let (mut event, mut data, mut id) = (None, None::<String>, None);
    for line in block.lines().filter(|line| !line.is_empty()) {
        if line.starts_with(':') {
            return Some(Frame::Comment);
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value).to_owned();
        match field {
            "event" => event = Some(value),
            "data" => data = Some(data.map_or(value.clone(), |d| d + "\n" + &value)),
            "id" => id = Some(value),
            "retry" => {}
            other => panic!("unknown field {other:?} in {block:?}"),
        }
    }
    Some(Frame::Event {
        event: event?,
        data: data.expect("an event without data"),
        id,
    })
}

/// The code of a JSON refusal's first error.
fn refusal_code(refusal: &(StatusCode, Value)) -> &str {
    refusal.1["errors"][0]["extensions"]["code"]
        .as_str()
        .expect("a code")
}
