//! GraphQL over HTTP: `POST /graphql` and `GET /graphql`.
//!
//! Written on top of the schema rather than with async-graphql-axum's
//! extractor, because the GraphQL-over-HTTP spec asks for things the
//! extractor does not do: 405 for a mutation over GET, 415/406 media type
//! checks, and status codes that follow the outcome under
//! `application/graphql-response+json`. Persisted queries
//! ([`super::persisted_queries`]) are resolved here too, before those
//! checks, which need the query text.

use std::net::SocketAddr;

use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql::{BatchRequest, BatchResponse, Request};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::header::{ALLOW, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::future::join_all;

use super::state::AppState;
use crate::auth::Viewer;
use crate::graphql::{ApiError, CallerSession, ClientAddress};

use super::auth_header::authorize;
use super::cache_policy::{NO_STORE, cache_headers};
use super::client_address::client_address;
use super::media::{ResponseType, is_json_request};
use super::persisted_queries::{Prepared, PreparedBatch, names_persisted_query};
use super::result_body::{BatchBody, ResultBody, is_request_error};

/// `POST /graphql` with a JSON body: one operation or a batch (array).
pub async fn graphql_post(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(response_type) = ResponseType::negotiate(&headers) else {
        return not_acceptable();
    };
    if !is_json_request(&headers) {
        return request_error(
            response_type,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the request body must be application/json",
        );
    }
    let batch: BatchRequest = match serde_json::from_slice(&body) {
        Ok(batch) => batch,
        Err(error) => {
            return request_error(
                response_type,
                StatusCode::BAD_REQUEST,
                &format!("the body is not a GraphQL request: {error}"),
            );
        }
    };
    // serde reads `[]` as a single request with every field defaulted (a
    // struct may come from a sequence), so an array body is sized from the
    // JSON itself.
    let is_array = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    let operations = match &batch {
        BatchRequest::Batch(requests) => requests.len(),
        BatchRequest::Single(_) if is_array => 0,
        BatchRequest::Single(_) => 1,
    };
    if is_array && (operations == 0 || operations > state.limits.max_batch) {
        return request_error(
            response_type,
            StatusCode::BAD_REQUEST,
            &format!(
                "a batch must hold 1 to {} operations",
                state.limits.max_batch
            ),
        );
    }
    if lacks_query(&batch, &body) {
        return missing_query(response_type);
    }
    let batch = match state.persisted_queries.prepare_batch(batch) {
        Ok(batch) => batch,
        Err(invalid) => {
            return request_error(response_type, StatusCode::BAD_REQUEST, &invalid.to_string());
        }
    };
    let caller = Caller::of(&state, &headers, peer).await;
    respond(&caller.run_batch(&state, batch).await, response_type)
}

/// `GET /graphql?query=...`: queries only, so that GET stays safe to cache
/// and to prefetch. Every answer says whether it may be cached
/// ([`super::cache_policy`]): refusals and errors may not.
pub async fn graphql_get(
    state: State<AppState>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    query: RawQuery,
) -> Response {
    let mut response = answer_get(state, peer, headers, query).await;
    response
        .headers_mut()
        .entry(CACHE_CONTROL)
        .or_insert(NO_STORE);
    response
}

/// GET's answer; one that ran carries its own cache headers.
async fn answer_get(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(response_type) = ResponseType::negotiate(&headers) else {
        return not_acceptable();
    };
    let request = match async_graphql::http::parse_query_string(query.as_deref().unwrap_or("")) {
        Ok(request) => request,
        Err(error) => {
            return request_error(
                response_type,
                StatusCode::BAD_REQUEST,
                &format!("the query string is not a GraphQL request: {error}"),
            );
        }
    };
    if request.query.is_empty()
        && !has_query_parameter(query.as_deref().unwrap_or(""))
        && !names_persisted_query(&request)
    {
        return missing_query(response_type);
    }
    let operation = match state.persisted_queries.prepare(request) {
        Ok(operation) => operation,
        Err(invalid) => {
            return request_error(response_type, StatusCode::BAD_REQUEST, &invalid.to_string());
        }
    };
    if let Prepared::Ready(ready) = &operation
        && let Some(kind) = non_query_operation(&ready.request)
    {
        let mut response = request_error(
            response_type,
            StatusCode::METHOD_NOT_ALLOWED,
            &format!("a {kind} must be sent with POST"),
        );
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    let caller = Caller::of(&state, &headers, peer).await;
    let answer = caller.run(&state, operation).await;
    let cache = cache_headers(&answer, headers.contains_key(AUTHORIZATION));
    let mut response = respond(&BatchResponse::Single(answer), response_type);
    response.headers_mut().extend(cache);
    response
}

/// Whether a request of the batch has no `query` parameter at all (a
/// misspelt key, say) and names no persisted query: invalid parameters,
/// which the GraphQL-over-HTTP spec answers with 400 whatever the media
/// type. async-graphql reads a missing `query` as an empty one, so only
/// then is the body looked at again.
fn lacks_query(batch: &BatchRequest, body: &[u8]) -> bool {
    let requests = match batch {
        BatchRequest::Single(request) => std::slice::from_ref(request),
        BatchRequest::Batch(requests) => requests.as_slice(),
    };
    let textless = |request: &Request| request.query.is_empty() && !names_persisted_query(request);
    if !requests.iter().any(textless) {
        return false;
    }
    let has_query = |request: &serde_json::Value| request.get("query").is_some();
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Array(sent)) => requests
            .iter()
            .zip(&sent)
            .any(|(request, sent)| textless(request) && !has_query(sent)),
        Ok(request) => !has_query(&request),
        Err(_) => true,
    }
}

/// Whether a GET query string names a `query` parameter.
fn has_query_parameter(query_string: &str) -> bool {
    query_string
        .split('&')
        .any(|pair| pair.split('=').next() == Some("query"))
}

/// 400 for a request without a `query`.
fn missing_query(response_type: ResponseType) -> Response {
    request_error(
        response_type,
        StatusCode::BAD_REQUEST,
        "the request has no `query` parameter",
    )
}

/// The kind of the operation a GET request would run, when it is not a
/// query.
fn non_query_operation(request: &Request) -> Option<&'static str> {
    match operation_type(request)? {
        OperationType::Query => None,
        OperationType::Mutation => Some("mutation"),
        OperationType::Subscription => Some("subscription"),
    }
}

/// The kind of operation a request would run; `None` when the document
/// does not parse or names no one operation (left to the executor, which
/// reports it).
pub(super) fn operation_type(request: &Request) -> Option<OperationType> {
    let document = async_graphql::parser::parse_query(&request.query).ok()?;
    let operation = match &document.operations {
        DocumentOperations::Single(operation) => operation,
        DocumentOperations::Multiple(operations) => match &request.operation_name {
            Some(name) => operations.get(name.as_str())?,
            None if operations.len() == 1 => operations.values().next()?,
            None => return None,
        },
    };
    Some(operation.node.ty)
}

/// Who sent a request: the data each of its operations runs with.
struct Caller {
    viewer: Viewer,
    address: ClientAddress,
    session: Option<CallerSession>,
}

impl Caller {
    async fn of(state: &AppState, headers: &HeaderMap, peer: SocketAddr) -> Self {
        let authorization = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
        let (viewer, grant) = authorize(&state.tokens, &state.revocations, authorization).await;
        Caller {
            viewer,
            address: ClientAddress(client_address(headers, peer, state.trust_forwarded_for)),
            session: grant.and_then(|grant| grant.session).map(CallerSession),
        }
    }

    /// Runs one operation as this caller; a persisted query this process
    /// does not know answers PersistedQueryNotFound, so the client sends
    /// its text.
    async fn run(&self, state: &AppState, operation: Prepared) -> async_graphql::Response {
        let Prepared::Ready(ready) = operation else {
            let error = ApiError::PersistedQueryNotFound.into_server_error();
            return async_graphql::Response::from_errors(vec![error]);
        };
        let (request, registration) = ready.into_parts();
        let mut request = request.data(self.viewer.clone()).data(self.address);
        if let Some(session) = &self.session {
            request = request.data(session.clone());
        }
        let response = state.schema.execute(request).await;
        state.persisted_queries.settle(registration, &response);
        response
    }

    /// Runs the operations of a batch at once, answering in their order.
    async fn run_batch(&self, state: &AppState, batch: PreparedBatch) -> BatchResponse {
        match batch {
            PreparedBatch::Single(operation) => {
                BatchResponse::Single(self.run(state, operation).await)
            }
            PreparedBatch::Batch(operations) => BatchResponse::Batch(
                join_all(operations.into_iter().map(|op| self.run(state, op))).await,
            ),
        }
    }
}

/// The HTTP answer carrying `response`: under
/// `application/graphql-response+json`, 400 for a single request that
/// could not run.
fn respond(response: &BatchResponse, response_type: ResponseType) -> Response {
    let status = match (response, response_type) {
        (BatchResponse::Single(single), ResponseType::GraphqlResponse)
            if is_request_error(single) =>
        {
            StatusCode::BAD_REQUEST
        }
        _ => StatusCode::OK,
    };
    json_response(status, response_type, &BatchBody(response))
}

pub(super) fn json_response(
    status: StatusCode,
    response_type: ResponseType,
    body: &impl serde::Serialize,
) -> Response {
    let body = serde_json::to_vec(body).unwrap_or_else(|error| {
        let failure = ApiError::internal(format!("cannot serialise a response: {error}"));
        let fallback = async_graphql::Response::from_errors(vec![failure.into_server_error()]);
        serde_json::to_vec(&ResultBody(&fallback)).unwrap_or_default()
    });
    (status, [(CONTENT_TYPE, response_type.content_type())], body).into_response()
}

/// An error response in GraphQL's shape for a request that never ran: a
/// request error, so it has no `data`.
fn request_error(response_type: ResponseType, status: StatusCode, message: &str) -> Response {
    let error = ApiError::BadUserInput(message.to_owned()).into_server_error();
    let body = async_graphql::Response::from_errors(vec![error]);
    json_response(status, response_type, &ResultBody(&body))
}

fn not_acceptable() -> Response {
    request_error(
        ResponseType::Json,
        StatusCode::NOT_ACCEPTABLE,
        "responses are application/graphql-response+json or application/json",
    )
}
