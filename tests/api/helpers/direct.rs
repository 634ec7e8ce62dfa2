//! Reaching past the API: lists as another caller, catalog edits with their ETag, and a database
//! transaction the test holds open (to commit after the server has read).

use reqwest::{Method, header};
use serde_json::Value;
use sqlx::Connection;

use super::TestApp;

/// A transaction on the server's database that the test commits when it chooses.
pub struct OpenTransaction {
    conn: sqlx::AnyConnection,
}

impl OpenTransaction {
    pub async fn execute(&mut self, statement: &str) {
        sqlx::raw_sql(statement).execute(&mut self.conn).await.unwrap_or_else(|e| panic!("{statement}: {e}"));
    }

    pub async fn commit(mut self) {
        self.execute("COMMIT").await;
        self.conn.close().await.expect("closing the test's connection");
    }
}

impl TestApp {
    pub async fn open_transaction(&self) -> OpenTransaction {
        sqlx::any::install_default_drivers();
        let conn = sqlx::AnyConnection::connect(&self.database_url).await.expect("connecting to the test database");
        let mut open = OpenTransaction { conn };
        open.execute("BEGIN").await;
        open
    }

    /// Every page of `GET …/users?{query}` as the holder of `token`, following `next_cursor`.
    pub async fn list_all_as(&self, token: &str, query: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..1000 {
            let q = match &cursor {
                Some(c) => format!("{query}&cursor={c}"),
                None => query.to_string(),
            };
            let page = self.get_as(token, &format!("{}?{q}", self.acct("users"))).await.json(200);
            items.extend(page["items"].as_array().expect("items").iter().cloned());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => return items,
            }
        }
        panic!("more than 1000 pages for {query}");
    }

    /// Changes a role, group, desk or skill (`kind` is the plural path segment) with its ETag.
    pub async fn patch_named(&self, kind: &str, id: i64, body: Value) -> Value {
        let path = self.acct(&format!("{kind}/{id}"));
        let etag = self.get(&path).await.expect(200).etag();
        let request = self.req(Method::PATCH, &path).header(header::IF_MATCH, etag).json(&body);
        self.send(request).await.json(200)
    }
}
