//! GraphQL over Server-Sent Events: the graphql-sse protocol's "distinct
//! connections mode", at `/graphql/stream`, and at `/graphql` for a request
//! whose `Accept` names `text/event-stream`.
//!
//! One request runs one operation: `POST` with the JSON body of
//! `/graphql`, or `GET` with `query`, `variables` and `operationName` in
//! the query string (queries and subscriptions only). The operation runs
//! through the same path as on a WebSocket (`Operations::start`), so
//! limits, errors, shared rendering and metrics are the same.
//!
//! Everything refused before the operation runs — credentials, a body or
//! document that cannot run, an argument refused when the subscription
//! starts, a limit — is an ordinary JSON response with a 4xx status, never
//! a 200 stream: the first reply is awaited before the response begins.
//!
//! Resuming: every event of `messageCreated` and `chatEvents` carries
//! `id: <cursor>`, and a request with `Last-Event-ID` resumes right after
//! it (over `after`), so a browser `EventSource` that reconnects by itself
//! misses nothing and sees nothing twice.

mod body;
mod frame;

use std::net::SocketAddr;
use std::time::Duration;

use async_graphql::parser::types::OperationType;
use async_graphql::{Request, Response, ServerError};
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Query, RawQuery, State};
use axum::http::header::{ACCEPT, ALLOW, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response as HttpResponse};
use futures_util::StreamExt;

use crate::auth::{Grant, Viewer};
use crate::graphql::live::Reply;
use crate::graphql::{ApiError, CallerSession, ClientAddress, Code, LastEventId};

use super::auth_header::authorize;
use super::client_address::client_address;
use super::graphql::{json_response, operation_type};
use super::media::{ResponseType, is_json_request};
use super::result_body::ResultBody;
use super::state::AppState;

/// How long the client should wait before reconnecting a dropped stream.
const RETRY: Duration = Duration::from_secs(1);

/// Whether a request prefers an event stream: `Accept` names
/// `text/event-stream` with a quality above zero, and no JSON type with a
/// higher one (or as high and listed first), so a client that lists both
/// but prefers JSON still gets JSON.
pub fn wants_event_stream(headers: &HeaderMap) -> bool {
    let offered: Vec<(String, f32)> = headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|media| {
            let mut parts = media.split(';');
            let essence = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let quality = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse().ok())
                .unwrap_or(1.0);
            (essence, quality)
        })
        .collect();
    let Some(stream) = offered
        .iter()
        .position(|(essence, q)| essence == "text/event-stream" && *q > 0.0)
    else {
        return false;
    };
    let is_json = |essence: &str| {
        essence == "application/json" || essence == "application/graphql-response+json"
    };
    !offered.iter().enumerate().any(|(i, (essence, q))| {
        is_json(essence) && (*q > offered[stream].1 || (*q == offered[stream].1 && i < stream))
    })
}

/// `POST` with a JSON body: any operation.
pub async fn post(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResponse {
    if !is_json_request(&headers) {
        return refusal(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the request body must be application/json",
        );
    }
    let request: Request = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(error) => {
            return refusal(
                StatusCode::BAD_REQUEST,
                &format!("the body is not a GraphQL request: {error}"),
            );
        }
    };
    let kind = operation_type(&request);
    open(&state, &headers, peer, request, kind, None).await
}

/// `GET` with the operation in the query string, and optionally a stream
/// token (`token`) where the client cannot send headers.
pub async fn get(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> HttpResponse {
    let (query, token) = take_token(query.as_deref().unwrap_or(""));
    let request = match async_graphql::http::parse_query_string(&query) {
        Ok(request) => request,
        Err(error) => {
            return refusal(
                StatusCode::BAD_REQUEST,
                &format!("the query string is not a GraphQL request: {error}"),
            );
        }
    };
    let kind = operation_type(&request);
    if kind == Some(OperationType::Mutation) {
        let mut response = refusal(
            StatusCode::METHOD_NOT_ALLOWED,
            "a mutation must be sent with POST",
        );
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    open(&state, &headers, peer, request, kind, token).await
}

/// Runs `request` (an operation of `kind`, when it parses) and answers
/// with its stream, or with a JSON refusal when it fails before its first
/// result.
async fn open(
    state: &AppState,
    headers: &HeaderMap,
    peer: SocketAddr,
    request: Request,
    kind: Option<OperationType>,
    stream_token: Option<String>,
) -> HttpResponse {
    if request.query.trim().is_empty() {
        return refusal(StatusCode::BAD_REQUEST, "the request has no `query`");
    }
    let (viewer, grant) = match credentials(state, headers, stream_token.as_deref()).await {
        Ok(credentials) => credentials,
        Err(refused) => return refused,
    };
    // A subscription's stream is a connection: it counts against the
    // user's streams and holds the user present, as a socket does.
    let lasting = kind == Some(OperationType::Subscription);
    let seat = match &viewer {
        Viewer::User(user) if lasting => match state.streams.admit(user) {
            Some(admitted) => Some((admitted, state.attendance.arrive(user))),
            None => {
                state.metrics.reject("sse_streams_per_user");
                let limit = state.streams.limit();
                return refusal_with(
                    StatusCode::TOO_MANY_REQUESTS,
                    ApiError::OverBound(format!(
                        "too many event streams for this user (at most {limit})"
                    )),
                );
            }
        },
        _ => None,
    };
    let mut request = request.data(ClientAddress(client_address(
        headers,
        peer,
        state.trust_forwarded_for,
    )));
    if let Some(session) = grant.as_ref().and_then(|grant| grant.session.clone()) {
        request = request.data(CallerSession(session));
    }
    if let Some(last) = headers
        .get("last-event-id")
        .and_then(|value| value.to_str().ok())
    {
        request = request.data(LastEventId(last.trim().to_owned()));
    }
    let mut replies = match state.operations.start(request, viewer) {
        Ok(replies) => replies,
        Err(error) => return errors_response(vec![error]),
    };
    // The reconnection delay first, then the first reply, if it is one.
    let mut first = vec![Bytes::from(format!("retry: {}\n\n", RETRY.as_millis()))];
    match replies.next().await {
        Some(Reply::Error(errors)) => return errors_response(errors),
        Some(Reply::Next(payload, position)) => {
            let id = position.map(|position| position.cursor());
            first.push(body::next(&payload, id.as_deref()));
        }
        Some(Reply::Opened) => {}
        Some(Reply::Complete) | None => first.push(frame::complete()),
    }
    let events = body::events(body::Parts {
        replies,
        first,
        keepalive: state.sse.keepalive,
        grant,
        revocations: state.revocations.clone(),
        shutdown: state.shutdown.clone(),
        seat,
    });
    (
        StatusCode::OK,
        [
            (CONTENT_TYPE, HeaderValue::from_static("text/event-stream")),
            (CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            // Tells buffering proxies (nginx) to pass events on at once.
            (
                axum::http::HeaderName::from_static("x-accel-buffering"),
                HeaderValue::from_static("no"),
            ),
        ],
        Body::from_stream(events),
    )
        .into_response()
}

/// Who the request is from: the `Authorization` header, else a stream
/// token from the URL; anonymous without either. A refusal (bad or ended
/// credentials) is the 401 to answer.
async fn credentials(
    state: &AppState,
    headers: &HeaderMap,
    stream_token: Option<&str>,
) -> Result<(Viewer, Option<Grant>), HttpResponse> {
    let header = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
    let (viewer, grant) = match (header, stream_token) {
        (Some(_), _) | (None, None) => authorize(&state.tokens, &state.revocations, header).await,
        (None, Some(token)) => match state.tokens.verify_stream(token) {
            Ok(grant) => match state.revocations.refuses(&grant).await {
                Ok(false) => (Viewer::User(grant.user.clone()), Some(grant)),
                Ok(true) => (Viewer::Invalid, None),
                Err(_) => (Viewer::Unchecked, None),
            },
            Err(_) => (Viewer::Invalid, None),
        },
    };
    match viewer {
        Viewer::Invalid => Err(refusal_with(
            StatusCode::UNAUTHORIZED,
            ApiError::Unauthenticated("the token is invalid, expired or of an ended session"),
        )),
        Viewer::Unchecked => Err(refusal_with(
            StatusCode::SERVICE_UNAVAILABLE,
            ApiError::internal("cannot check the token's session now"),
        )),
        viewer => Ok((viewer, grant)),
    }
}

/// The query string without its `token` parameter, and that token
/// (percent-decoded, as `URLSearchParams` may have encoded it).
fn take_token(query: &str) -> (String, Option<String>) {
    let mut token = None;
    let rest: Vec<&str> = query
        .split('&')
        .filter(|pair| {
            if !pair.starts_with("token=") {
                return true;
            }
            let decoded = axum::http::Uri::try_from(format!("/?{pair}"))
                .ok()
                .and_then(|uri| Query::<TokenParameter>::try_from_uri(&uri).ok());
            token = decoded.map(|query| query.0.token);
            false
        })
        .collect();
    (rest.join("&"), token)
}

/// The `token` parameter of a GET stream.
#[derive(serde::Deserialize)]
struct TokenParameter {
    token: String,
}

/// The JSON answer to an operation that failed before its first result,
/// with the status its first error's code calls for.
fn errors_response(errors: Vec<ServerError>) -> HttpResponse {
    let status = errors
        .first()
        .and_then(|error| error.extensions.as_ref())
        .and_then(|extensions| extensions.get("code"))
        .and_then(|code| match code {
            async_graphql::Value::String(code) => Some(status_of(code)),
            _ => None,
        })
        .unwrap_or(StatusCode::BAD_REQUEST);
    json(status, &Response::from_errors(errors))
}

/// The HTTP status of a refusal by its `extensions.code`; any other code
/// (BAD_USER_INPUT) is 400.
const STATUSES: [(Code, StatusCode); 7] = [
    (Code::Unauthenticated, StatusCode::UNAUTHORIZED),
    (Code::Forbidden, StatusCode::FORBIDDEN),
    (Code::NotFound, StatusCode::NOT_FOUND),
    (Code::Conflict, StatusCode::CONFLICT),
    (Code::RateLimited, StatusCode::TOO_MANY_REQUESTS),
    // The cursor names a part of the log that is gone.
    (Code::CursorExpired, StatusCode::GONE),
    (Code::Internal, StatusCode::INTERNAL_SERVER_ERROR),
];

fn status_of(code: &str) -> StatusCode {
    STATUSES
        .iter()
        .find(|(known, _)| known.as_str() == code)
        .map_or(StatusCode::BAD_REQUEST, |(_, status)| *status)
}

fn refusal(status: StatusCode, message: &str) -> HttpResponse {
    refusal_with(status, ApiError::BadUserInput(message.to_owned()))
}

fn refusal_with(status: StatusCode, error: ApiError) -> HttpResponse {
    json(
        status,
        &Response::from_errors(vec![error.into_server_error()]),
    )
}

/// A refusal as `/graphql` writes JSON (`application/json`: the client
/// asked for a stream, not for the spec's response type).
fn json(status: StatusCode, response: &Response) -> HttpResponse {
    json_response(status, ResponseType::Json, &ResultBody(response))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_taken_out_of_the_query_string() {
        let (rest, token) = take_token("query=%7Bme%7D&token=abc.def&variables=%7B%7D");
        assert_eq!(rest, "query=%7Bme%7D&variables=%7B%7D");
        assert_eq!(token.as_deref(), Some("abc.def"));
        assert_eq!(take_token("query=x"), ("query=x".to_owned(), None));
        let (_, encoded) = take_token("token=a%2Eb%3D");
        assert_eq!(encoded.as_deref(), Some("a.b="));
    }

    #[test]
    fn only_an_event_stream_accept_asks_for_one() {
        let mut headers = HeaderMap::new();
        assert!(!wants_event_stream(&headers));
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        assert!(!wants_event_stream(&headers));
        headers.insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
        assert!(wants_event_stream(&headers));
        headers.insert(
            ACCEPT,
            HeaderValue::from_static("text/event-stream, application/json;q=0.9"),
        );
        assert!(wants_event_stream(&headers));
        headers.insert(
            ACCEPT,
            HeaderValue::from_static("application/json, text/event-stream"),
        );
        assert!(!wants_event_stream(&headers), "JSON listed first");
        headers.insert(
            ACCEPT,
            HeaderValue::from_static("application/json;q=0.5, text/event-stream"),
        );
        assert!(wants_event_stream(&headers));
        headers.insert(ACCEPT, HeaderValue::from_static("text/event-stream;q=0"));
        assert!(!wants_event_stream(&headers));
    }
}
