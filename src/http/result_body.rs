//! The body of a GraphQL result over HTTP, shaped as the GraphQL spec says.
//!
//! A request error — the document does not parse or validate, an operation
//! is over a query limit, variables do not coerce — is raised before
//! execution begins, and its response has no `data` entry at all ("Request
//! Errors" in the spec; the GraphQL-over-HTTP audit checks it). async-graphql
//! answers those with `"data": null`, the shape of a field error that
//! propagated to the root, so this wrapper leaves `data` out for them.

use async_graphql::{BatchResponse, Response, Value};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

/// A response that failed before execution: no data, and errors that point
/// at no field. (An error propagated to the root during execution carries
/// the path of the field that raised it.)
pub fn is_request_error(response: &Response) -> bool {
    response.data == Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty())
}

/// A batch response, each result shaped by [`ResultBody`].
pub struct BatchBody<'a>(pub &'a BatchResponse);

impl Serialize for BatchBody<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            BatchResponse::Single(response) => ResultBody(response).serialize(serializer),
            BatchResponse::Batch(responses) => {
                let mut seq = serializer.serialize_seq(Some(responses.len()))?;
                for response in responses {
                    seq.serialize_element(&ResultBody(response))?;
                }
                seq.end()
            }
        }
    }
}

/// One result: as async-graphql serialises it, without `data` on a
/// request error.
pub struct ResultBody<'a>(pub &'a Response);

impl Serialize for ResultBody<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let response = self.0;
        if !is_request_error(response) {
            return response.serialize(serializer);
        }
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("errors", &response.errors)?;
        if !response.extensions.is_empty() {
            map.serialize_entry("extensions", &response.extensions)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::{Name, ServerError};
    use serde_json::json;

    use super::*;

    #[test]
    fn a_request_error_has_no_data_entry() {
        let response = Response::from_errors(vec![ServerError::new("syntax", None)]);
        let body = serde_json::to_value(ResultBody(&response)).unwrap();
        assert_eq!(body, json!({ "errors": [{ "message": "syntax" }] }));
    }

    #[test]
    fn a_field_error_at_the_root_keeps_data_null() {
        let mut error = ServerError::new("gone", None);
        error.path = vec![async_graphql::PathSegment::Field("me".to_owned())];
        let response = Response::from_errors(vec![error]);
        let body = serde_json::to_value(ResultBody(&response)).unwrap();
        assert_eq!(body["data"], json!(null));
    }

    #[test]
    fn a_result_with_data_is_unchanged() {
        let data = Value::Object([(Name::new("me"), Value::Null)].into_iter().collect());
        let response = Response::new(data);
        let batch = BatchResponse::Batch(vec![response]);
        let body = serde_json::to_value(BatchBody(&batch)).unwrap();
        assert_eq!(body, json!([{ "data": { "me": null } }]));
    }
}
