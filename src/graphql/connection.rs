//! Relay-style paging information shared by every connection.

use async_graphql::SimpleObject;

#[derive(SimpleObject, Debug, Clone, Default)]
pub struct PageInfo {
    pub has_previous_page: bool,
    pub has_next_page: bool,
    pub start_cursor: Option<String>,
    pub end_cursor: Option<String>,
}
